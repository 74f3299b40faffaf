// The libqb handshake of one connection, socket transport. The request is fully known (libqb
// memsets it and asks for corosync's IPC_REQUEST_SIZE). Of the reply, the transport and size
// follow from the daemon's config; the three path strings are the ones the client then used in
// openat()/bind() (seen in the same trace); only `connection`, the daemon's opaque pointer that
// no API exposes, is copied from the bytes (u64 at offset 32, per struct qb_ipc_connection_response).

const IPC_REQUEST_SIZE = 8192 * 128;

export function setupExpectations(service) {
  return [
    { service, dir: 'setup', name: 'qb.connectionRequest', fields: { maxMsgSize: IPC_REQUEST_SIZE } },
    {
      service,
      dir: 'setup',
      name: 'qb.connectionResponse',
      error: 0,
      fill(bytes, observed) {
        const p = observed;
        if (!p?.control || !p?.base) throw new Error(`no control file / socket base observed for ${service}`);
        const connection = Buffer.from(bytes).readBigUInt64LE(32).toString();
        return {
          connectionType: 0, // QB_IPC_SOCKET: qb_ipc_type: socket
          maxMsgSize: IPC_REQUEST_SIZE, // MAX(client's ask, corosync's 0)
          connection,
          request: p.control,
          response: p.base,
          event: '',
        };
      },
    },
  ];
}
