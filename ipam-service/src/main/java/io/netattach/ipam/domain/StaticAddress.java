package io.netattach.ipam.domain;

/** One entry of a static ipam section: an address with its prefix and an optional gateway. */
public record StaticAddress(String address, String gateway) {
}
