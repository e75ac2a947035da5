import { describe, expect, it } from 'vitest';
import { type DomainLayoutInput, resolveDomainLayout } from '../../../infra/constructs/domain-layout.ts';

const base: DomainLayoutInput = { instanceType: 'r7g.large.search', dataNodes: 1, masterNodes: 0 };

describe('resolveDomainLayout', () => {
  it.each<[Partial<DomainLayoutInput>, { availabilityZones: number; multiAzWithStandby: boolean; replicas: number }]>([
    [{ dataNodes: 1 }, { availabilityZones: 1, multiAzWithStandby: false, replicas: 0 }],
    [{ dataNodes: 2, masterNodes: 3 }, { availabilityZones: 2, multiAzWithStandby: false, replicas: 1 }],
    [{ dataNodes: 3 }, { availabilityZones: 3, multiAzWithStandby: false, replicas: 1 }],
    [{ dataNodes: 4, masterNodes: 3 }, { availabilityZones: 2, multiAzWithStandby: false, replicas: 1 }],
    [{ dataNodes: 6, masterNodes: 3 }, { availabilityZones: 3, multiAzWithStandby: false, replicas: 1 }],
    [{ dataNodes: 6, masterNodes: 3, availabilityZones: 2 }, { availabilityZones: 2, multiAzWithStandby: false, replicas: 1 }],
    [{ dataNodes: 5, availabilityZones: 1 }, { availabilityZones: 1, multiAzWithStandby: false, replicas: 1 }],
    [{ dataNodes: 3, masterNodes: 3, multiAzWithStandby: true }, { availabilityZones: 3, multiAzWithStandby: true, replicas: 2 }],
  ])('%j lays out as %j', (input, expected) => {
    const { warnings, ...layout } = resolveDomainLayout({ ...base, ...input });
    expect(layout).toEqual(expected);
  });

  it.each<[Partial<DomainLayoutInput>, RegExp]>([
    [{ dataNodes: 5 }, /5 data nodes cannot be spread evenly over 2 or 3 .*availabilityZones=1/],
    [{ dataNodes: 4, masterNodes: 3, availabilityZones: 3 }, /4 data nodes cannot be spread evenly over 3 availability zones/],
    [{ dataNodes: 3, availabilityZones: 2 }, /3 data nodes cannot be spread evenly over 2/],
    [{ dataNodes: 2 }, /2 data nodes without dedicated masters lose quorum/],
    [{ dataNodes: 2, availabilityZones: 1 }, /lose quorum/],
    [{ dataNodes: 4, availabilityZones: 4 }, /availabilityZones must be 1, 2 or 3, got 4/],
    [{ dataNodes: 2, masterNodes: 3, availabilityZones: 2, multiAzWithStandby: true }, /multiAzWithStandby needs availabilityZones=3, got 2/],
    [{ dataNodes: 3, multiAzWithStandby: true }, /multiAzWithStandby needs masterNodes=3, got 0/],
    [{ dataNodes: 3, masterNodes: 3, multiAzWithStandby: true, instanceType: 't3.medium.search' }, /not available for burstable instances \(t3\.medium\.search\)/],
  ])('%j is refused: %s', (input, message) => {
    expect(() => resolveDomainLayout({ ...base, ...input })).toThrow(message);
  });

  it('warns about masters over two zones and burstable production nodes, and not about a 3-zone layout', () => {
    expect(resolveDomainLayout({ ...base, dataNodes: 2, masterNodes: 3 }).warnings).toEqual([expect.stringMatching(/two of them .* availabilityZones=3/)]);
    expect(resolveDomainLayout({ ...base, dataNodes: 3, instanceType: 't3.small.search' }).warnings).toEqual([expect.stringMatching(/burstable/)]);
    expect(resolveDomainLayout({ ...base, dataNodes: 3, masterNodes: 3 }).warnings).toEqual([]);
    expect(resolveDomainLayout({ ...base, instanceType: 't3.small.search' }).warnings).toEqual([]);
  });
});
