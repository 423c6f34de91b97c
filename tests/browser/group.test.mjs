// The CPU workers' exchange (www/group.js) in Node, over real MessageChannels: what each worker
// receives, that later exchanges reuse the buffers of earlier ones, and cancels.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Group } from '../../www/group.js';

/** `size` groups joined pairwise by MessageChannels, as www/pool.js joins its workers. */
function groups(size) {
  const ports = Array.from({ length: size }, () => Array(size).fill(null));
  for (let a = 0; a < size; a++) {
    for (let b = a + 1; b < size; b++) {
      const { port1, port2 } = new MessageChannel();
      [ports[a][b], ports[b][a]] = [port1, port2];
    }
  }
  return ports.map((p, rank) => new Group(rank, size, p));
}

const close = (all) => all.forEach((g) => g.ports.forEach((p) => p?.close()));

test('every worker receives the others\' values, in rank order, and later exchanges reuse the buffers', async () => {
  const all = groups(3);
  try {
    all.forEach((g) => g.begin(1));
    const send = (g, step) => g.gather([Float32Array.of(g.rank, step), Float32Array.of(10 * g.rank)]);
    const first = await Promise.all(all.map((g) => send(g, 1)));
    for (const [rank, received] of first.entries()) {
      assert.equal(received[rank], null);
      for (const r of [0, 1, 2].filter((r) => r !== rank)) assert.deepEqual([...received[r]], [r, 1, 10 * r]);
    }
    const second = await Promise.all(all.map((g) => send(g, 2)));
    assert.deepEqual([...second[0][2]], [2, 2, 20]);
    // The arrays the first exchange delivered carried the second's values: sent away, detached.
    for (const received of first) for (const array of received.filter(Boolean)) assert.equal(array.length, 0);
    // An exchange of another length or type makes its own buffers.
    const sums = await Promise.all(all.map((g) => g.gather([Float64Array.of(g.rank + 0.5)])));
    assert.deepEqual([...sums[1][0]], [0.5]);
    assert.ok(sums[1][0] instanceof Float64Array);
  } finally {
    close(all);
  }
});

test('a cancel rejects the pending exchange and later ones; the next run exchanges again', async () => {
  const all = groups(2);
  try {
    all.forEach((g) => g.begin(1));
    const pending = all[0].gather([Float32Array.of(1)]);
    all[0].cancel(1);
    await assert.rejects(pending, (e) => e === 'cancelled');
    await assert.rejects(all[0].gather([Float32Array.of(1)]), (e) => e === 'cancelled');
    // Worker 1 never exchanged in run 1; both start run 2 and ignore what run 1 left behind.
    all.forEach((g) => g.begin(2));
    const [a, b] = await Promise.all(all.map((g) => g.gather([Float32Array.of(g.rank + 7)])));
    assert.deepEqual([...a[1]], [8]);
    assert.deepEqual([...b[0]], [7]);
  } finally {
    close(all);
  }
});
