import type { SimNode } from './cluster.js';

/** How one service's executive receives what its peers multicast (corosync's exec handler table). */
export interface BusReceiver<P> {
  /** Whether this node runs the service now (a node without it neither receives nor counts the message). */
  accepts(node: SimNode): boolean;
  deliver(node: SimNode, payload: P, from: number): void;
}

interface Queued { sender: SimNode; to: SimNode[]; service: string; msgId: number; payload: unknown }

/**
 * Totem between simulated nodes: each service multicasts to the members of the sender's ring, and
 * messages are delivered in one total order, synchronously, when the bus is pumped. Counts each
 * message in the sender's and receivers' runtime.services.<service>.<id>.tx/rx keys, like corosync.
 * A message queued outside a pump (a library call's, a cmap tracker's) waits for the next pump:
 * `onQueued` lets the cluster schedule that totem step.
 */
export class TotemBus {
  private queue: Queued[] = [];
  private pumping = false;
  private readonly receivers = new Map<string, BusReceiver<unknown>>();

  constructor(private readonly nodeById: (id: number) => SimNode, private readonly onQueued: () => void = () => {}) {}

  /** Whether messages wait for delivery. */
  get inFlight(): boolean {
    return this.queue.length > 0;
  }

  /** Registers the executive of `service`; its messages are undeliverable before. */
  register<P>(service: string, receiver: BusReceiver<P>): void {
    this.receivers.set(service, receiver as BusReceiver<unknown>);
  }

  /** Queues a multicast; before its first ring a node only hears itself (and totem does not count that as sent). */
  mcast(sender: SimNode, service: string, msgId: number, payload: unknown): void {
    const to = sender.members.length ? sender.members.map((id) => this.nodeById(id)) : [sender];
    this.queue.push({ sender, to, service, msgId, payload });
    if (sender.members.length) sender.countExec(service, msgId, 1, 0);
    if (!this.pumping) this.onQueued();
  }

  /** Forgets what a node sent that was not delivered yet (it died or stopped). */
  dropMessagesFrom(id: number): void {
    this.queue = this.queue.filter((q) => q.sender.id !== id);
  }

  /** Delivers queued messages in order until none is left (re-entrant calls return at once). */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) {
        const r = this.receivers.get(q.service);
        if (r === undefined) continue;
        for (const n of q.to) {
          if (!n.running || !r.accepts(n)) continue;
          // a node that moved to another ring since the send does not get it
          if (q.to.length > 1 && !n.members.includes(q.sender.id)) continue;
          n.countExec(q.service, q.msgId, 0, 1);
          r.deliver(n, q.payload, q.sender.id);
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
