// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A C++ leaker whose call sites have C++ names (tests/e2e/test_names.py):
 * cache::Store::insert() leaks through operator new (a new'd Blob and its
 * std::vector<char>, and the growth of the store's own vector), and
 * cache::Pool<cache::Blob>::grow() through malloc itself. Built, as most
 * C++ is, without frame pointers (the Makefile's *.cc rule).
 *
 * names_cxx [--size N] [--rate BYTES_PER_S] [--seconds S] [--wait-signal]
 * Prints "ready", then (after SIGUSR1 with --wait-signal) leaks at the rate
 * for S seconds (0: until killed), prints "done <bytes>" and keeps running.
 */
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unistd.h>
#include <vector>

static volatile std::sig_atomic_t go;

namespace cache {

struct Blob {
	std::string key;
	std::vector<char> bytes;
};

class Store {
public:
	__attribute__((noinline)) void insert(const std::string &key, std::size_t size);
	std::size_t size() const { return blobs_.size(); }

private:
	std::vector<Blob *> blobs_;
};

void Store::insert(const std::string &key, std::size_t size)
{
	Blob *b = new Blob{ key, std::vector<char>(size) };

	std::memset(b->bytes.data(), 1, size); /* touched: resident */
	blobs_.push_back(b);
}

template <typename T> class Pool {
public:
	__attribute__((noinline)) T *grow(std::size_t bytes)
	{
		void *p = std::malloc(bytes);

		if (!p)
			std::abort();
		std::memset(p, 2, bytes);
		kept_.push_back(p);
		return static_cast<T *>(p);
	}

private:
	std::vector<void *> kept_;
};

} // namespace cache

static void on_usr1(int) { go = 1; }

static double now_s()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	std::size_t size = 4096, rate = 2 << 20, leaked = 0;
	double seconds = 0;
	bool wait_signal = false;
	cache::Store store;
	cache::Pool<cache::Blob> pool;

	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--size") && i + 1 < argc)
			size = std::strtoul(argv[++i], nullptr, 0);
		else if (!std::strcmp(argv[i], "--rate") && i + 1 < argc)
			rate = std::strtoul(argv[++i], nullptr, 0);
		else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = std::strtod(argv[++i], nullptr);
		else if (!std::strcmp(argv[i], "--wait-signal"))
			wait_signal = true;
	}
	std::signal(SIGUSR1, on_usr1);
	std::printf("ready\n");
	std::fflush(stdout);
	while (wait_signal && !go)
		pause();
	double start = now_s(), tick = start;
	while (!seconds || now_s() - start < seconds) {
		/* per 10 ms: three blocks through insert() for one through grow() */
		std::size_t due = rate / 100, done = 0;

		for (int n = 0; done < due; n++, done += size) {
			if (n % 4 == 3)
				pool.grow(size);
			else
				store.insert("k" + std::to_string(leaked + done), size);
		}
		leaked += done;
		tick += 0.01;
		double left = tick - now_s();
		if (left > 0)
			usleep((useconds_t)(left * 1e6));
	}
	std::printf("done %zu\n", leaked);
	std::fflush(stdout);
	for (;;)
		pause();
}
