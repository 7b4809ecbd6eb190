package io.netattach.node.netlink;

import io.netattach.node.lab.NetnsLab;
import io.netattach.node.netlink.link.Link;
import io.netattach.node.netlink.link.LinkAttrs;
import io.netattach.node.netlink.link.LinkSpec;
import io.netattach.node.netlink.link.Links;
import io.netattach.node.netlink.link.Mac;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.netattach.node.netlink.ns.Netns;
import io.netattach.node.netlink.wire.NetlinkException;
import io.netattach.node.netlink.wire.NetlinkSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The link verbs against the kernel, in a throwaway namespace. */
class LinksLiveTest {
    private NetnsLab lab;
    private NamespaceThread nsThread;
    private Netns ns;
    private NetlinkSocket socket;
    private Links links;
    private String name;

    @BeforeEach
    void open() {
        lab = new NetnsLab();
        name = lab.netns("links");
        nsThread = new NamespaceThread();
        ns = Netns.open(NetnsLab.path(name));
        socket = nsThread.openSocket(ns);
        links = new Links(socket);
    }

    @AfterEach
    void close() {
        socket.close();
        ns.close();
        nsThread.close();
        lab.close();
    }

    @Test
    void verbsChangeWhatTheKernelReports() {
        Link a = links.add(new LinkSpec.Veth(new LinkAttrs("va", 1400, null, 0), "vb"));
        assertEquals("veth", a.kind());
        assertEquals(1400, a.mtu());
        Link tap = links.add(new LinkSpec.Macvtap(new LinkAttrs("tap0", 0, null, a.index()), LinkSpec.MacvlanMode.VEPA));
        assertEquals("macvtap", NetnsLab.ipJson(name, "link", "show", "tap0").get(0).at("/linkinfo/info_kind").asText());
        assertEquals(LinkSpec.MacvlanMode.VEPA, links.get("tap0").orElseThrow().macvlanMode());

        links.setMtu(a, 1300);
        links.setMac(a, Mac.parse("mac", "02:00:00:00:aa:01"));
        links.setName(a, "renamed", "an alias");
        links.setUp(links.get("renamed").orElseThrow(), true);
        Link after = links.get("renamed").orElseThrow();
        assertEquals(a.index(), after.index());
        assertEquals(1300, after.mtu());
        assertEquals("02:00:00:00:aa:01", after.mac().toString());
        assertEquals("an alias", after.alias());
        assertTrue(after.up());
        assertEquals(Optional.empty(), links.get("va"));

        links.delete(tap);
        assertTrue(links.deleteIfPresent("renamed"));
        assertFalse(links.deleteIfPresent("renamed"), "deleting a missing link is not an error");
        assertEquals(List.of("lo"), links.dump().stream().map(Link::name).toList());
    }

    @Test
    void kernelErrorsCarryTheErrnoNameAndTheKernelsMessage() {
        links.add(new LinkSpec.Veth(new LinkAttrs("va", 0, null, 0), "vb"));
        NetlinkException exists = assertThrows(NetlinkException.class, () -> links.add(new LinkSpec.Veth(new LinkAttrs("va", 0, null, 0), "vc")));
        assertEquals("EEXIST", exists.errnoName());
        NetlinkException bad = assertThrows(NetlinkException.class,
                () -> links.add(new LinkSpec.Macvlan(new LinkAttrs("mv0", 0, null, 0), LinkSpec.MacvlanMode.BRIDGE)));
        assertEquals("EINVAL", bad.errnoName());
        assertTrue(bad.getMessage().contains("EINVAL (Invalid argument)"), bad.getMessage());
        NetlinkException mtu = assertThrows(NetlinkException.class, () -> links.setMtu(links.get("va").orElseThrow(), 70_000));
        assertTrue(mtu.kernelMessage() != null && !mtu.kernelMessage().isBlank(), "extended ACK text: " + mtu.getMessage());
    }

    @Test
    void aPipelineAnswersEachRequestAndReportsTheFirstRefusalByItsOperation() {
        Link a = links.add(new LinkSpec.Veth(new LinkAttrs("va", 0, null, 0), "vb"));
        Link b = links.get("vb").orElseThrow();
        Link ghost = new Link(99_999, "ghost", null, 0, null, 0, 0, 0, null, null);
        // the second request is refused; the kernel still handles the third; the dump comes back whole
        NetlinkException e = assertThrows(NetlinkException.class, () -> socket.pipeline(List.of(
                links.mtuRequest(a, 1400), links.mtuRequest(ghost, 1400), links.mtuRequest(b, 1300))));
        assertEquals("ENODEV", e.errnoName());
        assertTrue(e.getMessage().startsWith("set MTU 1400 on ghost"), e.getMessage());
        assertEquals(1400, links.get("va").orElseThrow().mtu());
        assertEquals(1300, links.get("vb").orElseThrow().mtu(), "requests after a refused one are still handled");
        // the socket is clean: answers of the batch do not leak into the next exchanges
        var replies = socket.pipeline(List.of(links.upRequest(a, true), new io.netattach.node.netlink.addr.Addresses(socket).dumpRequest()));
        assertEquals(2, replies.size());
        assertEquals(List.of(), replies.get(0));
        assertTrue(links.get("va").orElseThrow().up());
        assertEquals(3, links.dump().size());
    }

    @Test
    void aDumpLargerThanOneDatagramArrivesWhole() {
        for (int i = 0; i < 150; i++) links.add(new LinkSpec.Veth(new LinkAttrs("a" + i, 0, null, 0), "b" + i));
        List<Link> all = links.dump();
        assertEquals(301, all.size(), "lo + 150 pairs");
        assertEquals(NetnsLab.linkNames(name).size(), all.size());
    }
}
