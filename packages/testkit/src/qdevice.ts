import { CS_OK } from '@corosync-ts/types';
import type { Clock } from './clock.js';
import type { SimNode } from './cluster.js';
import { NodeFlags } from './votequorum.js';

/** What the device needs from the cluster around its node. */
export interface QdeviceHost {
  readonly clock: Clock;
  /** Delivers what a call multicast and finishes a sync it unblocked. */
  kick(): void;
}

export interface QdeviceOptions {
  name?: string;
  castVote?: boolean;
  /** Poll like corosync-vqsim's `qdevice on` (ring of the last quorum callback; stop after a refused poll). */
  vqsimCompat?: boolean;
}

/**
 * A simulated quorum device on one node: it registers, polls first after quorum.device.timeout
 * ms and then every timeout/2, with the ring of the last votequorum nodelist notification (what
 * corosync-qdevice does). `vqsimCompat` instead polls with the ring of the last quorum callback
 * and stops after a refused poll, exactly like corosync-vqsim's `qdevice on` (so a sync waiting
 * for the device runs into its timeout).
 */
export class SimQdevice {
  private timer: unknown = undefined;
  private cfg = { name: 'SimQdevice', castVote: true, vqsimCompat: false };

  constructor(private readonly node: SimNode, private readonly host: QdeviceHost) {}

  on(opts: QdeviceOptions = {}): void {
    const vq = this.node.requireVq();
    this.cfg = { name: opts.name ?? this.cfg.name, castVote: opts.castVote ?? true, vqsimCompat: opts.vqsimCompat ?? false };
    if (!(vq.us.flags & NodeFlags.QDEVICE_REGISTERED)) {
      vq.qdeviceRegister(this.cfg.name);
      this.host.kick();
      if (!(vq.us.flags & NodeFlags.QDEVICE_REGISTERED)) return;
      this.schedule(vq.qdeviceTimeout);
    } else if (this.timer === undefined) {
      this.schedule(vq.qdeviceTimeout / 2);
    }
  }

  /** vqsim's `qdevice off`: one poll with cast_vote=0, then no more polls. */
  off(): void {
    const vq = this.node.requireVq();
    vq.qdevicePoll(this.cfg.name, false, this.cfg.vqsimCompat ? this.node.quorumRing : vq.ringId);
    this.host.kick();
    this.stop();
  }

  /** Stops polling (the node went down). */
  stop(): void {
    if (this.timer !== undefined) this.host.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer = this.host.clock.setTimer(ms, () => {
      this.timer = undefined;
      const vq = this.node.vq;
      if (!this.node.running || vq === undefined) return;
      const ring = this.cfg.vqsimCompat ? this.node.quorumRing : vq.ringId;
      const err = vq.qdevicePoll(this.cfg.name, this.cfg.castVote, ring);
      this.host.kick();
      if (err === CS_OK || !this.cfg.vqsimCompat) this.schedule(vq.qdeviceTimeout / 2);
    });
  }
}
