// Which enrichments run: the ALBATROSS_ENRICH environment setting, the stack's `enrichment` context
// setting and the CLI's --enrich option all take the same text, parsed here.

/** geo: source.geo.* (city database); as: source.as.* (ASN table); ua: user_agent.* (user-agent parser). */
export const ENRICH_PARTS = ['geo', 'as', 'ua'] as const;
export type EnrichPart = (typeof ENRICH_PARTS)[number];

/** On by default: every part. */
export const DEFAULT_ENRICH_SETTING = ENRICH_PARTS.join(',');

/**
 * `geo,as,ua` (any subset, comma-separated), `all`, or `none`/`off`/`false`; empty or absent means
 * the default (all). Throws with the accepted values on anything else.
 */
export function parseEnrichSetting(text: string | undefined): ReadonlySet<EnrichPart> {
  const value = (text ?? '').trim().toLowerCase();
  if (value === '' || value === 'all' || value === 'true') return new Set(ENRICH_PARTS);
  if (value === 'none' || value === 'off' || value === 'false') return new Set();
  const parts = new Set<EnrichPart>();
  for (const item of value.split(',').map((part) => part.trim())) {
    if (!(ENRICH_PARTS as readonly string[]).includes(item)) {
      throw new Error(`enrichment "${text}" is not valid: use a comma-separated subset of ${ENRICH_PARTS.join(', ')}, "all" or "none"`);
    }
    parts.add(item as EnrichPart);
  }
  return parts;
}

/** The canonical text of a set of parts (`geo,as,ua`, or `none`). */
export function formatEnrichSetting(parts: ReadonlySet<EnrichPart>): string {
  const list = ENRICH_PARTS.filter((part) => parts.has(part));
  return list.length === 0 ? 'none' : list.join(',');
}
