import type { Subnet } from "@aws-sdk/client-ec2";
import type { DesiredCluster } from "./spec.js";

/** EKS needs subnets in at least this many zones; this repository uses three. */
export const REQUIRED_ZONES = 3;

/**
 * Checks the subnets EC2 describes against cluster.yaml: each exists, sits
 * in the zone it is listed under, all share one VPC, and together they cover
 * three distinct zones. Returns one message per problem, empty when none.
 */
export function checkSubnets(
  desired: DesiredCluster,
  subnets: Subnet[],
): string[] {
  const problems: string[] = [];
  const byId = new Map(subnets.map((subnet) => [subnet.SubnetId, subnet]));

  for (const [listedZone, ids] of Object.entries(desired.spec.subnets)) {
    for (const id of ids) {
      const subnet = byId.get(id);
      if (!subnet) {
        problems.push(
          `subnet ${id} (listed under ${listedZone}) was not found in ${desired.region}`,
        );
      } else if (subnet.AvailabilityZone !== listedZone) {
        problems.push(
          `subnet ${id} is in ${subnet.AvailabilityZone ?? "an unknown zone"}, but ${desired.file} lists it under ${listedZone}; move it to the right zone or replace it with a subnet of ${listedZone}`,
        );
      }
    }
  }

  const zones = [
    ...new Set(subnets.map((subnet) => subnet.AvailabilityZone ?? "")),
  ]
    .filter(Boolean)
    .sort();
  if (zones.length < REQUIRED_ZONES) {
    const missing = desired.zones.filter((zone) => !zones.includes(zone));
    problems.push(
      `the subnets sit in ${zones.length} distinct zone(s) (${zones.join(", ") || "none"}), but the cluster needs ${REQUIRED_ZONES}; add a subnet in ${missing.join(", ") || "another zone"} to ${desired.file}`,
    );
  }

  const vpcs = [...new Set(subnets.map((subnet) => subnet.VpcId ?? ""))];
  if (vpcs.length > 1) {
    problems.push(
      `the subnets belong to ${vpcs.length} VPCs (${vpcs.sort().join(", ")}); an EKS cluster's subnets must share one VPC`,
    );
  }
  return problems;
}

/** Subnet ids by the zone EC2 reports them in, zones sorted. */
export function subnetsByZone(subnets: Subnet[]): Record<string, string[]> {
  const zones: Record<string, string[]> = {};
  for (const subnet of subnets) {
    const zone = subnet.AvailabilityZone ?? "unknown";
    (zones[zone] ??= []).push(subnet.SubnetId ?? "");
  }
  return Object.fromEntries(Object.entries(zones).sort());
}
