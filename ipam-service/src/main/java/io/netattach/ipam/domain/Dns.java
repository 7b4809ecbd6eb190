package io.netattach.ipam.domain;

import java.util.List;

/** CNI DNS settings, echoed from the ipam section. */
public record Dns(List<String> nameservers, String domain, List<String> search, List<String> options) {
}
