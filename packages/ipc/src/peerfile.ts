// The files of a connection in /dev/shm that a peer names or owns: where they may lie, what
// they must be before we map them, and how they are removed without following a link the peer
// planted. libqb checks none of this (README "Trust model").
import { Errno } from '@corosync-ts/types';
import { IpcError } from './errors.js';
import { native, parentDir } from './native.js';

/**
 * Paths named by a server (setup reply, ring header) must stay inside /dev/shm: a
 * hostile provider must not get us to map and write some other file we can open.
 * libqb itself does not check this.
 */
export function assertShmPath(p: string, what: string): string {
  if (!p.startsWith('/dev/shm/') || !isNormalAbsolute(p)) {
    throw new IpcError('EBADMSG', `${what} path ${JSON.stringify(p)} is not inside /dev/shm`);
  }
  return p;
}


/**
 * Whether node:path's resolve(p) would give p back: absolute, no empty, "." or ".." segment, no
 * trailing slash. Checked by hand: node:path compiles its functions on first use, and these
 * checks were all a short script used it for (~0.1 ms of its first connect).
 */
function isNormalAbsolute(p: string): boolean {
  if (p.length < 2 || p.charCodeAt(0) !== 0x2f) return p === '/';
  for (let start = 1; start <= p.length; ) {
    let end = p.indexOf('/', start);
    if (end < 0) end = p.length;
    const len = end - start;
    if (len === 0 || (len <= 2 && p.startsWith(len === 1 ? '.' : '..', start))) return false;
    start = end + 1;
  }
  return true;
}

/**
 * The one directory every file of a connection lies in: /dev/shm itself (the relative
 * names of libqb <= 1.0.3 servers) or a directory directly inside it (libqb's mkdtemp).
 */
export function connectionDir(paths: readonly string[], what: string): string {
  const dir = parentDir(assertShmPath(paths[0]!, what));
  if (dir !== '/dev/shm' && parentDir(dir) !== '/dev/shm') {
    throw new IpcError('EBADMSG', `${what} ${JSON.stringify(paths[0])} is not in /dev/shm or a directory directly inside it`);
  }
  for (const p of paths) {
    if (parentDir(assertShmPath(p, what)) !== dir) throw new IpcError('EBADMSG', `${what} ${JSON.stringify(p)} is outside the connection's directory ${dir}`);
  }
  return dir;
}

/** What a file a server names must be for us to map it. */
export interface PeerFileRules {
  /** The connection's directory (connectionDir). */
  dir: string;
  /** Accepted owners: the server's uid, and ours (libqb servers chown their files to the client). */
  owners: readonly number[];
}

const OPEN_SHM_REFUSALS: Readonly<Record<number, string>> = {
  [Errno.ELOOP]: 'is, or lies under, a symbolic link',
  [Errno.EXDEV]: 'is on another filesystem than /dev/shm',
  [Errno.EINVAL]: 'has an empty, "." or ".." component',
  [Errno.EBADMSG]: 'is not a regular file',
  [Errno.ENOTDIR]: 'lies under something that is not a directory',
};

/**
 * Closes an fd of openPeerFile. The addon opened it, so the addon closes it: Node's fs.closeSync
 * warns ("closed but not opened in unmanaged mode") in a worker thread for an fd fs did not open.
 */
export function closePeerFile(fd: number): void {
  native().close(fd);
}

/**
 * Open a file a server named (control file, ring header or data), for mapping: no symlink
 * anywhere under /dev/shm, no FIFO or device (never blocks), a regular file with one
 * link, owned by one of `rules.owners`, inside the connection's directory, of a size
 * `sizeOk` accepts. Checked on the open fd, so the file cannot be swapped after the
 * check. The caller closes the fd.
 */
export function openPeerFile(path: string, what: string, rules: PeerFileRules, sizeOk: (size: number) => boolean, sizeText: string): number {
  if (parentDir(assertShmPath(path, what)) !== rules.dir) {
    throw new IpcError('EBADMSG', `${what} ${JSON.stringify(path)} is outside the connection's directory ${rules.dir}`);
  }
  // The addon's fstat of the opened fd (link count, uid, size): what is judged is what was opened.
  const st = new Float64Array(3);
  const fd = native().openShm(path.slice('/dev/shm/'.length), st);
  if (fd < 0) {
    const why = OPEN_SHM_REFUSALS[-fd];
    throw why ? new IpcError('EBADMSG', `${what} ${path} ${why}`) : IpcError.fromErrno(fd, `open ${what} ${path}`);
  }
  try {
    const [nlink, uid, size] = st as unknown as [number, number, number];
    if (nlink !== 1) throw new IpcError('EBADMSG', `${what} ${path} has ${nlink} links (a hard link to another file?)`);
    if (!rules.owners.includes(uid)) {
      throw new IpcError('EBADMSG', `${what} ${path} is owned by uid ${uid}, neither the server's nor ours (${rules.owners.join(', ')})`);
    }
    if (!sizeOk(size)) throw new IpcError('EBADMSG', `${what} ${path} is ${size} bytes, not ${sizeText}`);
    return fd;
  } catch (e) {
    closePeerFile(fd);
    throw e;
  }
}


/**
 * Remove a file (or directory) of a connection in /dev/shm without following a symlink
 * on the way: the peer owns the directory and may have swapped it for a link to another
 * place holding a file of the same name. Errors (ENOENT, ENOTEMPTY races with the peer)
 * are ignored, as libqb does.
 */
export function removeShmPath(path: string, dir = false): void {
  if (!path.startsWith('/dev/shm/') || !isNormalAbsolute(path)) return;
  native().unlinkShm(path.slice('/dev/shm/'.length), dir);
}

/**
 * A file or directory this thread's env has just created in /dev/shm for a server connection:
 * the addon removes it with the env (a Worker that ends with the connection open) unless
 * removeShmPath removed it first. Throws when it cannot be recorded: a file nobody would
 * remove is not kept.
 */
export function ownShmPath(path: string): void {
  const r = path.startsWith('/dev/shm/') && isNormalAbsolute(path) ? native().shmOwn(path.slice('/dev/shm/'.length)) : -Errno.EINVAL;
  if (r < 0) throw IpcError.fromErrno(r, `record ${path} as this thread's`);
}

/** rmdir the per-connection directory, ignoring ENOENT / ENOTEMPTY races with the peer. */
export function removeConnectionDir(pathInside: string): void {
  if (isNormalAbsolute(pathInside)) removeShmPath(parentDir(pathInside), true);
}
