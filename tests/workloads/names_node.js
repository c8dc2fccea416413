// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// A Node leaker for tests/e2e/test_names.py, run as
//   node --perf-basic-prof --interpreted-frames-native-stack --no-turbo-inlining \
//        names_node.js [BYTES_PER_S]
// leakyBufferMaker() keeps every Buffer it makes: their bytes live outside
// V8's heap, allocated by node's ArrayBuffer allocator through the malloc
// family, so memobs's probes see them; the JavaScript frames on those stacks
// are JIT code that only /tmp/perf-PID.map names. Prints "ready" once the
// function has been called (and the map written), then leaks until killed.
'use strict';

const kept = [];
const rate = Number(process.argv[2] || (4 << 20));
const size = 16 << 10;

function leakyBufferMaker(n) {
  const b = Buffer.alloc(n);
  b[0] = 1;
  kept.push(b);
  return b;
}

function tick() {
  for (let done = 0; done < rate / 100; done += size)
    leakyBufferMaker(size);
}

tick();
process.stdout.write('ready\n');
setInterval(tick, 10);
