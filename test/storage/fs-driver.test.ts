import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BlobStore, fsBlobDriver } from '../../src/storage/index.js'

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  )
}

/** Every file and folder under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true })
  return entries.map(String).sort()
}

describe('filesystem blob driver: never outside its directory', () => {
  let base: string
  let root: string
  let outside: string
  let store: BlobStore
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'stratum-fs-safety-'))
    root = join(base, 'store')
    outside = join(base, 'outside')
    await mkdir(outside)
    await writeFile(join(outside, 'secret.txt'), 'top secret')
    store = new BlobStore(fsBlobDriver({ dir: root }))
    await store.put('seed', 'x') // creates the layout
    // Planted links, as another process or a careless deploy might leave them.
    await symlink(outside, join(root, 'objects', 'evil-dir'))
    await symlink(join(outside, 'secret.txt'), join(root, 'objects', 'evil-file'))
    await symlink(outside, join(root, 'meta', 'evil-dir'))
  })
  afterAll(async () => {
    await rm(base, { recursive: true, force: true })
  })

  it('refuses to read, write, copy or move through a symbolic link', async () => {
    expect(await code(store.get('evil-dir/secret.txt'))).toBe('INVALID_KEY')
    expect(await code(store.getStream('evil-dir/secret.txt'))).toBe('INVALID_KEY')
    expect(await code(store.head('evil-dir/secret.txt'))).toBe('INVALID_KEY')
    expect(await code(store.get('evil-file'))).toBe('INVALID_KEY')
    expect(await code(store.head('evil-file'))).toBe('INVALID_KEY')
    expect(await code(store.put('evil-dir/planted.txt', 'pwned'))).toBe('INVALID_KEY')
    expect(await code(store.put('evil-dir/deeper/planted.txt', 'pwned'))).toBe('INVALID_KEY')
    expect(await code(store.copy('seed', 'evil-dir/copied'))).toBe('INVALID_KEY')
    expect(await code(store.move('seed', 'evil-dir/moved'))).toBe('INVALID_KEY')
    expect(await code(store.copy('evil-file', 'stolen'))).toBe('INVALID_KEY')
    expect(await code(store.move('evil-file', 'stolen'))).toBe('INVALID_KEY')
    expect(await readdir(outside)).toEqual(['secret.txt'])
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret')
    expect(await store.exists('stolen')).toBe(false)
    expect(await store.exists('seed')).toBe(true)
  })

  it('does not list or follow links, and deleting one removes only the link', async () => {
    const keys: string[] = []
    for await (const item of store.listAll()) keys.push(item.key)
    expect(keys).toEqual(['seed'])
    const page = await store.list({ delimiter: '/' })
    expect(page.prefixes).toEqual([])
    await store.delete('evil-file')
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret')
  })

  it('rejects traversal and absolute keys before touching the disk', async () => {
    const before = await tree(base)
    for (const key of [
      '../outside/secret.txt',
      '../../etc/passwd',
      '/etc/passwd',
      'a/../../x',
      '..\\x',
    ]) {
      expect(await code(store.put(key, 'x'))).toBe('INVALID_KEY')
      expect(await code(store.get(key))).toBe('INVALID_KEY')
    }
    expect(await tree(base)).toEqual(before)
  })

  it('works when the directory itself is reached through a symbolic link', async () => {
    const real = join(base, 'real-store')
    await mkdir(real)
    const linked = join(base, 'linked-store')
    await symlink(real, linked)
    const viaLink = new BlobStore(fsBlobDriver({ dir: linked }))
    await viaLink.put('a/b.txt', 'through the link')
    expect((await viaLink.get('a/b.txt')).toString()).toBe('through the link')
    expect(await readFile(join(real, 'objects', 'a', 'b.txt'), 'utf8')).toBe('through the link')
  })
})

describe('filesystem blob driver: layout and limits', () => {
  let dir: string
  let store: BlobStore
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-fs-layout-'))
    store = new BlobStore(fsBlobDriver({ dir }))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps objects as plain files and leaves no temp file behind, even after a failed upload', async () => {
    await store.put('docs/readme.txt', 'plain text', { contentType: 'text/plain' })
    expect(await readFile(join(dir, 'objects', 'docs', 'readme.txt'), 'utf8')).toBe('plain text')
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 1))
        if (Math.random() < 0.2) this.destroy(new Error('broken source'))
      },
    })
    await expect(store.put('docs/broken.bin', failing)).rejects.toThrow()
    expect(await readdir(join(dir, 'tmp'))).toEqual([])
    expect(await store.exists('docs/broken.bin')).toBe(false)
  })

  it('says CONFLICT when a key would be both a file and a folder', async () => {
    await store.put('clash', 'file')
    const error = await store
      .put('clash/inner', 'x')
      .catch((e: { code?: string; message: string }) => e)
    expect(error).toMatchObject({ code: 'CONFLICT' })
    expect((error as Error).message).toMatch(/folder/)
    await store.put('folder/inner', 'x')
    expect(await code(store.put('folder', 'x'))).toBe('CONFLICT')
    expect((await store.get('clash')).toString()).toBe('file')
  })

  it('removes folders left empty by a delete, so their names are free again', async () => {
    await store.put('tmpdir/a/b/c', 'x')
    await store.delete('tmpdir/a/b/c')
    await store.put('tmpdir', 'now a file')
    expect((await store.get('tmpdir')).toString()).toBe('now a file')
  })

  it('rejects a key segment too long for a file name with INVALID_KEY (S3 takes it)', async () => {
    expect(await code(store.put(`long/${'x'.repeat(251)}`, 'x'))).toBe('INVALID_KEY')
    await store.put(`long/${'x'.repeat(250)}`, 'fits')
  })

  it('ignores a metadata sidecar that belongs to another version of the file', async () => {
    await store.put('side/car', 'v1', { contentType: 'text/plain', metadata: { v: '1' } })
    // Replace the bytes behind the store's back: the sidecar's inode no longer matches.
    await rm(join(dir, 'objects', 'side', 'car'))
    await writeFile(join(dir, 'objects', 'side', 'car'), 'v2')
    const head = await store.head('side/car')
    expect(head.contentType).toBe('application/octet-stream')
    expect(head.metadata).toEqual({})
  })
})
