package io.netattach.ipam.domain;

import java.util.List;

/**
 * What an owner got from a pool: addresses in CIDR notation with the pool's prefix, one per range set, in
 * range set order; the gateway of each address's range where it has one (same order, absent ones skipped);
 * the routes and DNS of the ipam section. created=false when the owner already held these addresses.
 */
public record Lease(String pool, List<String> ips, List<String> gateways, List<Route> routes, Dns dns, boolean created) {
}
