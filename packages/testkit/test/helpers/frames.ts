import { decode, type DecodedMessage } from '@corosync-ts/codec-wasm';
import { NodeServices, type ServiceConnection, type ServiceName, type SimNode } from '../../src/index.js';

/** A service connection driven with frames, recording what the daemon side sends back. */
export class FrameClient {
  readonly responses: Uint8Array[] = [];
  readonly events: Uint8Array[] = [];
  readonly conn: ServiceConnection;
  constructor(readonly service: ServiceName, services: NodeServices) {
    this.conn = services.connect(service, {
      respond: (f) => this.responses.push(f),
      sendEvent: (f) => this.events.push(f),
    });
  }
  /** Sends one request and returns the decoded response it produced. */
  call(frame: Uint8Array): DecodedMessage {
    const before = this.responses.length;
    this.conn.handle(frame);
    if (this.responses.length !== before + 1) throw new Error(`expected one response, got ${this.responses.length - before}`);
    return decode(this.responses[this.responses.length - 1]!, { service: this.service, dir: 'res' });
  }
  /** Decoded events received so far (and forgets them). */
  takeEvents(): DecodedMessage[] {
    return this.events.splice(0).map((f) => decode(f, { service: this.service, dir: 'evt' }));
  }
}

export function servicesFor(node: SimNode): NodeServices {
  return new NodeServices(node);
}
