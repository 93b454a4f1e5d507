import { randomBytes } from 'node:crypto'
import {
  type BigIntStats,
  close as closeCallback,
  constants,
  createReadStream,
  createWriteStream,
  fstat as fstatCallback,
  open as openCallback,
  readFile as readFileCallback,
} from 'node:fs'
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { StratumError } from '../errors.js'
import type { BlobDriver, BlobHead, BlobListItem, DriverPutOptions } from './blob-driver.js'
import { blobAborted, blobNotFound, blobUnsupported } from './blob-errors.js'
import { clipRange } from './byte-range.js'
import { compareKeys, pageOf } from './list-page.js'

/** Options of {@link fsBlobDriver}. */
export interface FsBlobDriverOptions {
  /** The directory the store keeps everything in (created on first write). */
  readonly dir: string
  /**
   * Flush each object to disk before it becomes visible (default true), so a put that
   * returned survives a crash. Readers never see half a file either way.
   */
  readonly fsync?: boolean
}

/**
 * What is kept beside each object: its write options, tied to one version of the file by
 * its etag (inode, modification time in ns, size; a rename changes none of them).
 */
interface Sidecar {
  readonly etag: string
  readonly contentType: string
  readonly cacheControl?: string
  readonly metadata: Record<string, string>
}

const NO_FOLLOW = constants.O_NOFOLLOW ?? 0
const openFd = promisify(openCallback)
const closeFd = promisify(closeCallback)
const readFd = promisify(readFileCallback) as (fd: number) => Promise<Buffer>
const fstatFd = promisify(fstatCallback) as (
  fd: number,
  options: { bigint: true },
) => Promise<BigIntStats>

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

function outside(key: string): StratumError {
  return new StratumError(
    'INVALID_KEY',
    `Blob key ${JSON.stringify(key)} resolves through a symbolic link; the filesystem driver never leaves its directory`,
    { details: { key } },
  )
}

function folderConflict(key: string, cause: unknown): StratumError {
  return new StratumError(
    'CONFLICT',
    `Blob key ${JSON.stringify(key)} collides with a folder or file of another key on the filesystem driver ` +
      `(a key cannot also be the folder of other keys, such as "a" and "a/b")`,
    { details: { key }, cause },
  )
}

/** Longest key segment the driver stores: a file name (255 bytes) less the sidecar's `.json`. */
const MAX_SEGMENT_BYTES = 250

/** The key's segments, each a file or folder name; `INVALID_KEY` for one too long to be a file name. */
function segmentsOf(key: string): string[] {
  const segments = key.split('/')
  for (const segment of segments) {
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES)
      throw new StratumError(
        'INVALID_KEY',
        `Blob key ${JSON.stringify(key.slice(0, 80))}… has a segment longer than ${MAX_SEGMENT_BYTES} bytes, ` +
          'which the filesystem driver cannot store as a file name (S3 can)',
        { details: { key } },
      )
  }
  return segments
}

function etagOf(info: { ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `"${info.ino.toString(16)}-${info.mtimeNs.toString(16)}-${info.size.toString(16)}"`
}

/**
 * A blob driver on the local filesystem, the embedded default. Objects are plain files
 * under `<dir>/objects/<key>`; content type, cache control and metadata live beside them
 * in `<dir>/meta/<key>.json`. Writes go to `<dir>/tmp` and are renamed into place, so a
 * reader sees the old file or the whole new one. Keys are checked before any I/O, and
 * every path is confirmed inside the directory without following symbolic links, so no
 * key reads or writes outside it. Signed URLs are `UNSUPPORTED`.
 *
 * @example
 * ```ts
 * import { BlobStore, fsBlobDriver } from 'stratum-data/storage'
 * const blobs = new BlobStore(fsBlobDriver({ dir: './.stratum/blobs' }))
 * ```
 */
export function fsBlobDriver(options: FsBlobDriverOptions): BlobDriver {
  const fsync = options.fsync ?? true
  const objectsDir = join(options.dir, 'objects')
  const metaDir = join(options.dir, 'meta')
  const tmpDir = join(options.dir, 'tmp')
  let realObjects: Promise<string> | undefined

  const objectPath = (key: string) => join(objectsDir, ...segmentsOf(key))
  // The sidecar tree mirrors the objects tree name for name, so two keys collide there only
  // where their files would (a `.json` suffix made `k` and `k.json/c` collide).
  const metaPath = (key: string) => join(metaDir, ...segmentsOf(key))
  /**
   * Where earlier releases kept a key's sidecar; still read (its etag must match the file,
   * so the sidecar of a key named `k.json` is never taken for `k`'s), never written.
   */
  const legacyMetaPath = (key: string) => `${metaPath(key)}.json`

  const ensureRoot = async (): Promise<string> => {
    realObjects ??= (async () => {
      await mkdir(objectsDir, { recursive: true })
      await mkdir(metaDir, { recursive: true })
      await mkdir(tmpDir, { recursive: true })
      return realpath(objectsDir)
    })()
    realObjects.catch(() => {
      realObjects = undefined
    })
    return realObjects
  }

  /** Confirms the object's folder is inside the root (no symbolic link on the way). */
  const assertInside = async (key: string): Promise<void> => {
    const root = await ensureRoot()
    const parent = dirname(objectPath(key))
    let real: string
    try {
      real = await realpath(parent)
    } catch (error) {
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') throw blobNotFound(key, error)
      throw error
    }
    if (real !== root && !real.startsWith(root + sep)) throw outside(key)
  }

  /**
   * Opens an object for reading, refusing a symbolic link at any step. A plain file
   * descriptor rather than a FileHandle: read streams on a FileHandle go through its
   * promise API and read about a fifth slower.
   */
  const openObject = async (key: string): Promise<number> => {
    await assertInside(key)
    let fd: number
    try {
      fd = await openFd(objectPath(key), constants.O_RDONLY | NO_FOLLOW)
    } catch (error) {
      if (code(error) === 'ELOOP') throw outside(key)
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(code(error) ?? ''))
        throw blobNotFound(key, error)
      throw error
    }
    // A folder opens too (it holds other keys): it is not an object.
    if (!(await fstatFd(fd, { bigint: true })).isFile()) {
      await closeFd(fd)
      throw blobNotFound(key)
    }
    return fd
  }

  /** Creates the folders of `path` under `base` one by one, refusing symbolic links. */
  const makeFolders = async (key: string, base: string, segments: string[]): Promise<void> => {
    let current = base
    for (const segment of segments) {
      current = join(current, segment)
      let info: Awaited<ReturnType<typeof lstat>> | undefined
      try {
        info = await lstat(current)
      } catch (error) {
        if (code(error) !== 'ENOENT') throw error
      }
      if (info?.isSymbolicLink()) throw outside(key)
      if (info && !info.isDirectory()) throw folderConflict(key, undefined)
      if (!info) {
        try {
          await mkdir(current)
        } catch (error) {
          if (code(error) !== 'EEXIST') throw error
        }
      }
    }
  }

  const readSidecar = async (key: string, etag: string): Promise<Sidecar | undefined> => {
    try {
      const text = await readFile(metaPath(key), 'utf8').catch(() =>
        readFile(legacyMetaPath(key), 'utf8'),
      )
      const sidecar = JSON.parse(text) as Sidecar
      // A sidecar written for another version of the file (a put between its two
      // renames, or a file changed behind the store's back) is ignored rather than paired
      // with the wrong bytes.
      return sidecar.etag === etag ? sidecar : undefined
    } catch {
      return undefined
    }
  }

  const headOf = async (key: string, fd: number): Promise<BlobHead> => {
    const info = await fstatFd(fd, { bigint: true })
    const etag = etagOf(info)
    const sidecar = await readSidecar(key, etag)
    return {
      key,
      size: Number(info.size),
      contentType: sidecar?.contentType ?? 'application/octet-stream',
      etag,
      lastModified: new Date(Number(info.mtimeMs)),
      metadata: { ...sidecar?.metadata },
      ...(sidecar?.cacheControl === undefined ? {} : { cacheControl: sidecar.cacheControl }),
    }
  }

  /** Puts a finished temp file (and its sidecar) in place; retries once if a folder was removed meanwhile. */
  const install = async (key: string, temp: string, sidecar: Omit<Sidecar, 'etag'>) => {
    const segments = key.split('/')
    const info = await stat(temp, { bigint: true })
    const metaTemp = `${temp}.json`
    await writeFile(metaTemp, JSON.stringify({ ...sidecar, etag: etagOf(info) }))
    for (let attempt = 0; ; attempt++) {
      try {
        await makeFolders(key, objectsDir, segments.slice(0, -1))
        await makeFolders(key, metaDir, segments.slice(0, -1))
        await rename(metaTemp, metaPath(key))
        await rename(temp, objectPath(key))
        return
      } catch (error) {
        if (code(error) === 'ENOENT' && attempt < 3) continue
        if (['EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST'].includes(code(error) ?? ''))
          throw folderConflict(key, error)
        throw error
      }
    }
  }

  const tempPath = () =>
    join(tmpDir, `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`)

  const removeEmptyFolders = async (base: string, key: string) => {
    const segments = key.split('/').slice(0, -1)
    while (segments.length > 0) {
      try {
        await rmdir(join(base, ...segments))
      } catch {
        return
      }
      segments.pop()
    }
  }

  const sidecarOf = (options: DriverPutOptions): Omit<Sidecar, 'etag'> => ({
    contentType: options.contentType ?? 'application/octet-stream',
    metadata: { ...options.metadata },
    ...(options.cacheControl === undefined ? {} : { cacheControl: options.cacheControl }),
  })

  const walk = async (dir: string, keyPrefix: string, out: string[]): Promise<void> => {
    let entries: import('node:fs').Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (error) {
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return
      throw error
    }
    for (const entry of entries) {
      // Symbolic links are neither followed nor listed.
      if (entry.isDirectory()) await walk(join(dir, entry.name), `${keyPrefix}${entry.name}/`, out)
      else if (entry.isFile()) out.push(`${keyPrefix}${entry.name}`)
    }
  }

  return {
    kind: 'fs',
    async put(key, body, putOptions) {
      segmentsOf(key)
      await ensureRoot()
      const temp = tempPath()
      const { signal, onProgress } = putOptions
      if (signal?.aborted) throw blobAborted(key, signal.reason)
      let loaded = 0
      const total = body instanceof Readable ? undefined : body.byteLength
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          loaded += chunk.byteLength
          onProgress?.({ loaded, ...(total === undefined ? {} : { total }) })
          done(null, chunk)
        },
      })
      const source = body instanceof Readable ? body : Readable.from([body], { objectMode: false })
      try {
        const out = createWriteStream(temp, { flags: 'wx', flush: fsync })
        const streamOptions = signal ? { signal } : {}
        if (onProgress) await pipeline(source, counter, out, streamOptions)
        else await pipeline(source, out, streamOptions)
        if (total === 0) onProgress?.({ loaded: 0, total: 0 })
        await install(key, temp, sidecarOf(putOptions))
      } catch (error) {
        await rm(temp, { force: true })
        await rm(`${temp}.json`, { force: true })
        if (signal?.aborted) throw blobAborted(key, error)
        throw error
      }
    },
    async get(key) {
      const fd = await openObject(key)
      try {
        return await readFd(fd)
      } finally {
        await closeFd(fd)
      }
    },
    async getStream(key, range) {
      const fd = await openObject(key)
      try {
        const info = await fstatFd(fd, { bigint: true })
        const { start, end } = clipRange(key, range, Number(info.size))
        if (end < start) {
          await closeFd(fd)
          return Readable.from([], { objectMode: false })
        }
        return createReadStream('', { fd, start, end, autoClose: true })
      } catch (error) {
        await closeFd(fd)
        throw error
      }
    },
    async head(key) {
      const fd = await openObject(key)
      try {
        return await headOf(key, fd)
      } finally {
        await closeFd(fd)
      }
    },
    async delete(key) {
      try {
        await assertInside(key)
      } catch (error) {
        if (error instanceof StratumError && error.code === 'NOT_FOUND') return
        throw error
      }
      for (const path of [objectPath(key), metaPath(key)]) {
        try {
          await unlink(path)
        } catch (error) {
          if (!['ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM'].includes(code(error) ?? '')) throw error
        }
      }
      await removeEmptyFolders(objectsDir, key)
      await removeEmptyFolders(metaDir, key)
    },
    async deleteMany(keys) {
      const errors: { key: string; message: string }[] = []
      for (const key of keys) {
        try {
          await this.delete(key)
        } catch (error) {
          errors.push({ key, message: error instanceof Error ? error.message : String(error) })
        }
      }
      return { deleted: keys.length - errors.length, errors }
    },
    async list(listOptions) {
      await ensureRoot()
      // Walk only the deepest folder the prefix names in full.
      const cut = listOptions.prefix.lastIndexOf('/')
      const folder = cut === -1 ? '' : listOptions.prefix.slice(0, cut + 1)
      const keys: string[] = []
      await walk(folder ? objectPath(folder.slice(0, -1)) : objectsDir, folder, keys)
      const matching = keys.filter((k) => k.startsWith(listOptions.prefix)).sort(compareKeys)
      return pageOf(matching, listOptions, async (page) => {
        const items: BlobListItem[] = []
        for (const key of page) {
          try {
            const info = await lstat(objectPath(key), { bigint: true })
            items.push({
              key,
              size: Number(info.size),
              etag: etagOf(info),
              lastModified: new Date(Number(info.mtimeMs)),
            })
          } catch (error) {
            if (code(error) !== 'ENOENT') throw error // deleted since the walk
          }
        }
        return items
      })
    },
    async copy(from, to) {
      segmentsOf(to)
      const fd = await openObject(from)
      const temp = tempPath()
      try {
        const head = await headOf(from, fd)
        await pipeline(
          createReadStream('', { fd, autoClose: false }),
          createWriteStream(temp, { flags: 'wx', flush: fsync }),
        )
        await install(to, temp, {
          contentType: head.contentType,
          metadata: { ...head.metadata },
          ...(head.cacheControl === undefined ? {} : { cacheControl: head.cacheControl }),
        })
      } catch (error) {
        await rm(temp, { force: true })
        await rm(`${temp}.json`, { force: true })
        throw error
      } finally {
        await closeFd(fd)
      }
    },
    async move(from, to) {
      segmentsOf(to)
      await closeFd(await openObject(from))
      const segments = to.split('/')
      try {
        await makeFolders(to, objectsDir, segments.slice(0, -1))
        await makeFolders(to, metaDir, segments.slice(0, -1))
        // rename keeps inode, size and mtime, so the sidecar still belongs to the file.
        await rename(objectPath(from), objectPath(to))
        await rename(metaPath(from), metaPath(to)).catch((error) => {
          if (code(error) !== 'ENOENT') throw error
        })
      } catch (error) {
        if (['EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST'].includes(code(error) ?? ''))
          throw folderConflict(to, error)
        throw error
      }
      await removeEmptyFolders(objectsDir, from)
      await removeEmptyFolders(metaDir, from)
    },
    async signedUrl() {
      throw blobUnsupported(
        'fs',
        'sign URLs',
        'serve files through your application, or use the S3 driver',
      )
    },
    async ping() {
      // The directory itself, or the nearest folder above it that would hold it.
      let dir = options.dir
      for (;;) {
        try {
          const info = await stat(dir)
          if (!info.isDirectory())
            throw new StratumError('UNAVAILABLE', `The blob directory ${dir} is not a directory`)
          return
        } catch (error) {
          if (code(error) !== 'ENOENT' || dirname(dir) === dir) throw error
          dir = dirname(dir)
        }
      }
    },
    async close() {},
  }
}
