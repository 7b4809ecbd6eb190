package io.netattach.node.netlink;

import org.jboss.logging.Logger;

import java.util.ArrayDeque;
import java.util.Deque;

/** Undo steps registered as each step succeeds; run in reverse when a later step fails. */
final class Rollback {
    private static final Logger LOG = Logger.getLogger(Rollback.class);

    interface Step { void undo() throws Exception; }

    private record Named(String what, Step step) {}

    private final Deque<Named> steps = new ArrayDeque<>();

    void add(String what, Step step) { steps.push(new Named(what, step)); }

    /** Undoes everything registered, newest first; an undo that fails is logged and the rest still run. */
    void run(Throwable cause) {
        while (!steps.isEmpty()) {
            Named n = steps.pop();
            try {
                n.step.undo();
            } catch (Exception e) {
                LOG.warnf("rollback step \"%s\" failed after %s: %s", n.what, cause.getMessage(), e.getMessage());
                cause.addSuppressed(e);
            }
        }
    }
}
