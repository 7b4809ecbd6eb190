package io.netattach.node.domain;

/** A route asked for: destination CIDR and optional gateway (null = the IPAM gateway of the family, or on-link). */
public record RouteRequest(String dst, String gw) {}
