// How a new domain's nodes are laid out over availability zones, checked before synth so that a layout AWS
// refuses, or one that loses quorum or a zone's data when one node or zone fails, fails with a clear message.
// Pure: no CDK constructs, so the rules are tested as a table (test/infra/constructs/domain-layout.test.ts).

export interface DomainLayoutInput {
  readonly instanceType: string;
  readonly dataNodes: number;
  /** Dedicated master nodes; 0 = none. */
  readonly masterNodes: number;
  /** 1, 2 or 3; undefined = derived from the data node count. */
  readonly availabilityZones?: number;
  /** Multi-AZ with Standby (AWS's highest-availability layout). */
  readonly multiAzWithStandby?: boolean;
}

export interface DomainLayout {
  readonly availabilityZones: 1 | 2 | 3;
  readonly multiAzWithStandby: boolean;
  /** Replicas per index a layout like this should use (what the index templates get). */
  readonly replicas: number;
  /** Layouts AWS accepts but that a reviewer should know about; shown as synth warnings. */
  readonly warnings: readonly string[];
}

/** One zone for one node; otherwise the most zones the data node count divides evenly into. */
function defaultZones(dataNodes: number): 1 | 2 | 3 | undefined {
  if (dataNodes === 1) return 1;
  if (dataNodes % 3 === 0) return 3;
  if (dataNodes % 2 === 0) return 2;
  return undefined;
}

export function resolveDomainLayout(input: DomainLayoutInput): DomainLayout {
  const { dataNodes, masterNodes, instanceType } = input;
  const standby = input.multiAzWithStandby ?? false;
  const zones = input.availabilityZones ?? (standby ? 3 : defaultZones(dataNodes));
  if (zones === undefined) {
    throw new Error(
      `${dataNodes} data nodes cannot be spread evenly over 2 or 3 availability zones: use a multiple of 2 or 3, ` +
        'or set availabilityZones=1 to accept a domain in a single zone',
    );
  }
  if (zones !== 1 && zones !== 2 && zones !== 3) {
    throw new Error(`availabilityZones must be 1, 2 or 3, got ${zones}`);
  }
  if (dataNodes % zones !== 0) {
    throw new Error(`${dataNodes} data nodes cannot be spread evenly over ${zones} availability zones: use a multiple of ${zones}`);
  }
  if (dataNodes === 2 && masterNodes === 0) {
    // Two master-eligible nodes: losing either loses the quorum of two, and writes stop.
    throw new Error('2 data nodes without dedicated masters lose quorum when one node fails: use 3 data nodes, or set masterNodes=3');
  }
  if (standby) {
    if (zones !== 3) throw new Error(`multiAzWithStandby needs availabilityZones=3, got ${zones}`);
    if (masterNodes !== 3) throw new Error(`multiAzWithStandby needs masterNodes=3, got ${masterNodes}`);
    if (/^t[23]\./.test(instanceType)) {
      throw new Error(`multiAzWithStandby is not available for burstable instances (${instanceType}): choose e.g. r7g.large.search`);
    }
  }
  const warnings: string[] = [];
  if (masterNodes > 0 && zones === 2) {
    warnings.push(
      'dedicated masters over 2 availability zones: the zone that holds two of them takes the master quorum with it when it fails; availabilityZones=3 avoids this',
    );
  }
  if (/^t[23]\./.test(instanceType) && dataNodes > 1) {
    warnings.push(`${instanceType} is a burstable instance type, which AWS does not recommend for production domains`);
  }
  // Multi-AZ with Standby wants a copy of each shard in every zone; otherwise one replica where there is a second node.
  const replicas = standby ? 2 : Math.min(1, dataNodes - 1);
  return { availabilityZones: zones, multiAzWithStandby: standby, replicas, warnings };
}
