// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
int main(void)
{
	puts("memobs " MEMOBS_VERSION);
	return 0;
}
