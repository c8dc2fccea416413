// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A C++ server that leaks four calls below main, built as most C++ is
 * (-O2, no frame pointers: the Makefile's rule for *.cc): every request
 * opens a session that nobody closes. Its buffer comes from std::vector's
 * operator new, and the store's own vector grows too, so a stack must pass
 * through libstdc++'s operator new and the inlined std:: templates to reach
 * shop::SessionStore::open, handle_request, serve and main. Only a CFI
 * unwinder gets past operator new: no frame here keeps a frame pointer.
 *
 *   unwind_cxx [--rate BYTES_PER_S]   prints "ready", leaks until killed
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

namespace shop {

struct Session {
	long id;
	std::vector<char> buffer;
	explicit Session(long i) : id(i), buffer(4096, 'x') {}
};

class SessionStore {
public:
	__attribute__((noinline)) Session *open(long id)
	{
		Session *s = new Session(id);
		sessions_.push_back(s);
		asm volatile("" ::: "memory");
		return s;
	}

private:
	std::vector<Session *> sessions_;
};

} // namespace shop

static shop::SessionStore store;

__attribute__((noinline)) static long handle_request(long i)
{
	shop::Session *s = store.open(i);

	asm volatile("" ::: "memory");
	return s->id;
}

__attribute__((noinline)) static void serve(long rate)
{
	long per_tick = rate / 4096 / 100 + 1, i = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		for (long k = 0; k < per_tick; k++)
			handle_request(i++);
		nanosleep(&tick, nullptr);
	}
}

int main(int argc, char **argv)
{
	long rate = 4L << 20;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--rate"))
			rate = atol(argv[i + 1]);
	printf("ready\n");
	fflush(stdout);
	serve(rate);
	return 0;
}
