// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A JVM that leaks on its own heap (tests/e2e/test_runtime.py): byte[]
 * blocks, written through, kept in a static list at a steady rate, so that
 * the Java heap and the process's anonymous RSS grow while malloc's stays
 * flat. Compiled by javac at test time.
 *
 * java -Xmx1g RuntimeLeak [BYTES_PER_S] [BLOCK_BYTES]
 * Prints "ready", then leaks until killed.
 */
import java.util.ArrayList;
import java.util.List;

public class RuntimeLeak {
    static final List<byte[]> KEPT = new ArrayList<>();

    public static void main(String[] args) throws InterruptedException {
        long rate = args.length > 0 ? Long.parseLong(args[0]) : 2L << 20;
        int block = args.length > 1 ? Integer.parseInt(args[1]) : 64 << 10;
        long perTick = Math.max(1, rate / 10 / block);
        System.out.println("ready");
        System.out.flush();
        for (long n = 0;; n++) {
            for (long i = 0; i < perTick; i++) {
                byte[] b = new byte[block];
                for (int k = 0; k < block; k += 512)
                    b[k] = (byte) (n + k);
                KEPT.add(b);
            }
            Thread.sleep(100);
        }
    }
}
