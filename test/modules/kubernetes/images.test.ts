import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { containerdImagesModule } from '../../../runner/modules/kubernetes/images.ts';
import type { ModuleContext } from '../../../runner/modules/types.ts';
import { checkRow, type PlanRow } from '../table.ts';

const archives = [
  { file: 'pause-3.9.tar', sha256: 'a'.repeat(64), base64: Buffer.from('pause image').toString('base64') },
  { file: 'flannel-v0.25.6.tar', sha256: 'b'.repeat(64), base64: Buffer.from('flannel image').toString('base64') },
];

const rows: PlanRow[] = [
  {
    name: 'nothing imported yet',
    module: containerdImagesModule,
    args: { src: 'images', archives },
    stdout: 'ctr yes\nimage0 missing\nimage1 missing\n',
    expect: {
      status: 'change',
      summary: 'import pause-3.9.tar, flannel-v0.25.6.tar into containerd (k8s.io)',
      affects: ['/var/lib/onionplay/images'],
      steps: ['mkdir -p', 'ctr -n k8s.io images import /var/cache/onionplay/images/pause-3.9.tar', `touch /var/lib/onionplay/images/${'a'.repeat(64)}.imported`, 'flannel-v0.25.6.tar'],
    },
  },
  {
    name: 'one archive already imported',
    module: containerdImagesModule,
    args: { src: 'images', archives },
    stdout: 'ctr yes\nimage0 imported\nimage1 missing\n',
    expect: { status: 'change', summary: 'import flannel-v0.25.6.tar into containerd (k8s.io)', notInSteps: ['pause-3.9.tar'] },
  },
  {
    name: 'all imported',
    module: containerdImagesModule,
    args: { src: 'images', archives },
    stdout: 'ctr yes\nimage0 imported\nimage1 imported\n',
    expect: { status: 'ok', reason: 'all 2 image archive(s) already imported into containerd (k8s.io)' },
  },
  {
    name: 'no ctr',
    module: containerdImagesModule,
    args: { src: 'images', archives },
    stdout: 'ctr no\nimage0 missing\nimage1 missing\n',
    expect: { status: 'failed', message: 'ctr is not installed on the host; install containerd first' },
  },
];

for (const row of rows) test(`containerd_images plan: ${row.name}`, (t) => checkRow(t, row));

test('containerd_images prepare reads the archives', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'onionplay-images-'));
  try {
    await writeFile(join(dir, 'b.tar'), 'second');
    await writeFile(join(dir, 'a.tar'), 'first');
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    const prepared = await containerdImagesModule.prepare?.({ src: dir }, { vars: {} } as unknown as ModuleContext);
    const found = (prepared as { archives: Array<{ file: string; base64: string }> }).archives;
    t.deepEqual(found.map((archive) => archive.file), ['a.tar', 'b.tar']);
    t.is(Buffer.from(found[0]?.base64 ?? '', 'base64').toString(), 'first');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('containerd_images prepare rejects an empty folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'onionplay-images-'));
  try {
    await t.throwsAsync(containerdImagesModule.prepare?.({ src: dir }, { vars: {} } as unknown as ModuleContext) ?? Promise.resolve(), { message: /contains no image archives/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
