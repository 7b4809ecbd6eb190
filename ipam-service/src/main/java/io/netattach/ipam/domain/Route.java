package io.netattach.ipam.domain;

/** A route handed to the pod with its addresses: destination CIDR and optional gateway. */
public record Route(String dst, String gw) {
}
