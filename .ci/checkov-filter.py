"""Reads checkov's JSON report (stdin) and .ci/checkov-skips.yaml; prints the failures no skip covers, exits 1 if any."""
import fnmatch
import json
import sys

import yaml  # installed with checkov

variant, skips_path = sys.argv[1], sys.argv[2]
skips = yaml.safe_load(open(skips_path))
for skip in skips:
    if not skip.get('reason'):
        sys.exit(f'{skips_path}: the skip of {skip.get("check")} has no reason')
report = json.load(sys.stdin)
reports = report if isinstance(report, list) else [report]
failed = [f for r in reports for f in r['results']['failed_checks']]
passed = sum(r['summary']['passed'] for r in reports)


def covered(failure):
    logical_id = failure['resource'].split('.', 1)[1]
    return any(
        skip['check'] == failure['check_id']
        and any(fnmatch.fnmatchcase(logical_id, pattern) for pattern in skip['resources'])
        and variant in skip.get('variants', [variant])
        for skip in skips
    )


left = [f for f in failed if not covered(f)]
print(f'checkov {variant}: {passed} passed, {len(failed) - len(left)} failed with a listed reason, {len(left)} failed')
for f in left:
    print(f"  {f['check_id']} {f['resource']}: {f['check_name']}")
sys.exit(1 if left else 0)
