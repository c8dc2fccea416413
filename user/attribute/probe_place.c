// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <capstone/capstone.h>
#include "attribute/probe_place.h"
#include "util/array.h"
#include "util/observed_file.h"

/* Above this, the back-jump scan stops: allocator entry points are far smaller. */
#define FUNC_BYTES_MAX (64 * 1024)

struct known_func {
	const char *name;
	int nr_args;
};

/* The malloc family and the C++ operators that allocators define. */
static const struct known_func known_funcs[] = {
	{ "malloc", 1 },
	{ "free", 1 },
	{ "valloc", 1 },
	{ "pvalloc", 1 },
	{ "calloc", 2 },
	{ "realloc", 2 },
	{ "aligned_alloc", 2 },
	{ "memalign", 2 },
	{ "reallocarray", 3 },
	{ "posix_memalign", 3 },
	{ "malloc_usable_size", 1 },
	{ "_Znwm", 1 },	  /* operator new(size_t) */
	{ "_Znam", 1 },	  /* operator new[](size_t) */
	{ "_ZdlPv", 1 },  /* operator delete(void *) */
	{ "_ZdaPv", 1 },  /* operator delete[](void *) */
	{ "_ZdlPvm", 2 }, /* sized delete */
	{ "_ZdaPvm", 2 },
	{ "_ZnwmRKSt9nothrow_t", 2 },
	{ "_ZnamRKSt9nothrow_t", 2 },
	{ "_ZnwmSt11align_val_t", 2 },
	{ "_ZnamSt11align_val_t", 2 },
	{ "_ZdlPvSt11align_val_t", 2 },
	{ "_ZdaPvSt11align_val_t", 2 },
	{ "_ZdlPvmSt11align_val_t", 3 },
	{ "_ZdaPvmSt11align_val_t", 3 },
	/* libc's mm wrappers (escalation): munmap's one argument outlives its syscall */
	{ "mmap", 6 },
	{ "mmap64", 6 },
	{ "munmap", 2 | PROBE_PLACE_PAST_SYSCALL },
	{ "sbrk", 1 },
};

int probe_place__nr_args(const char *func)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_funcs); i++)
		if (!strcmp(known_funcs[i].name, func))
			return known_funcs[i].nr_args;
	return PROBE_PLACE_ALL_ARGS;
}

static void set_entry(struct probe_site *out, const char *why)
{
	out->probe_offset = out->func_offset;
	out->skipped_bytes = 0;
	out->tail_jump = false;
	out->at_entry_fallback = !out->entry_is_emulated;
	snprintf(out->reason, sizeof(out->reason), "%s", why);
}

#if defined(__x86_64__)

/* Mirrors branch_setup_xol_ops() and push_setup_xol_ops() of 6.x kernels. */
static const char *kernel_emulates(const cs_insn *insn)
{
	const __u8 *b = insn->bytes;
	unsigned int n = insn->size;

	/* bnd (f2) is kept by the kernel's branch emulation; 0x66 makes it fail */
	if (n > 1 && b[0] == 0xf2 &&
	    (b[1] == 0xe8 || b[1] == 0xe9 || b[1] == 0xeb || (b[1] >= 0x70 && b[1] <= 0x7f) ||
	     b[1] == 0x0f)) {
		b++;
		n--;
	}
	if (n == 1 && b[0] >= 0x50 && b[0] <= 0x57)
		return "push";
	if (n == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return "push";
	if (n == 1 && b[0] == 0x90)
		return "nop";
	if ((n == 2 && b[0] == 0xeb) || (n == 5 && b[0] == 0xe9))
		return "jmp";
	if (n == 5 && b[0] == 0xe8)
		return "call";
	if (n == 2 && b[0] >= 0x70 && b[0] <= 0x7f)
		return "jcc";
	if (n == 6 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f)
		return "jcc";
	return NULL;
}

static bool is_unconditional_jmp(const cs_insn *insn)
{
	return insn->id == X86_INS_JMP;
}

/* Every name of the argument registers, in calling-convention order, and rsp. */
static const x86_reg arg_regs[6][5] = {
	{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_INVALID },
	{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_REG_INVALID },
	{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
	{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
	{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_REG_INVALID },
	{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, X86_REG_INVALID },
};
static const x86_reg sp_regs[] = { X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL };

static bool reg_must_survive(unsigned int reg, int nr_args)
{
	int i, j;

	for (i = 0; i < (int)ARRAY_SIZE(sp_regs); i++)
		if (reg == sp_regs[i])
			return true;
	for (i = 0; i < nr_args && i < 6; i++)
		for (j = 0; j < 5; j++)
			if (arg_regs[i][j] != X86_REG_INVALID && reg == arg_regs[i][j])
				return true;
	return false;
}

/* Can the probe go after this instruction with nothing the BPF side reads changed? */
static const char *blocks_walk(csh cs, const cs_insn *insn, int nr_args)
{
	cs_regs regs_read, regs_write;
	uint8_t nr_read, nr_write, i;
	const cs_x86 *x86 = &insn->detail->x86;

	/*
	 * The kernel keeps every register but rax, rcx and r11 across a syscall:
	 * a function whose arguments are none of those can be probed after it
	 * (munmap: the probe then sees the unmap done, which is all it needs)
	 */
	if (insn->id == X86_INS_SYSCALL && (nr_args & PROBE_PLACE_PAST_SYSCALL) &&
	    (nr_args & ~PROBE_PLACE_PAST_SYSCALL) <= 3)
		return NULL;
	nr_args &= ~PROBE_PLACE_PAST_SYSCALL;

	if (cs_insn_group(cs, insn, CS_GRP_JUMP) || cs_insn_group(cs, insn, CS_GRP_CALL) ||
	    cs_insn_group(cs, insn, CS_GRP_RET) || cs_insn_group(cs, insn, CS_GRP_INT) ||
	    cs_insn_group(cs, insn, CS_GRP_IRET))
		return "branches";
	if (cs_regs_access(cs, insn, regs_read, &nr_read, regs_write, &nr_write) != CS_ERR_OK)
		return "undecoded";
	for (i = 0; i < nr_write; i++)
		if (reg_must_survive(regs_write[i], nr_args))
			return "writes an arg/rsp";
	for (i = 0; i < x86->op_count; i++)
		if (x86->operands[i].type == X86_OP_MEM && (x86->operands[i].access & CS_AC_WRITE))
			return "writes memory";
	return NULL;
}

/* A direct jump in the body landing in (entry, site] would fire the site without a call. */
static bool jumps_into_prologue(csh cs, cs_insn *insn, const __u8 *code, size_t len,
				__u64 func_offset, __u64 site, __u64 *from, __u64 *to)
{
	const uint8_t *p = code;
	size_t left = len > FUNC_BYTES_MAX ? FUNC_BYTES_MAX : len;
	uint64_t addr = func_offset;

	while (left) {
		if (!cs_disasm_iter(cs, &p, &left, &addr, insn)) {
			/* data or padding: resynchronize one byte further */
			p++;
			left--;
			addr++;
			continue;
		}
		if (!cs_insn_group(cs, insn, CS_GRP_JUMP) && !cs_insn_group(cs, insn, CS_GRP_CALL))
			continue;
		if (insn->detail->x86.op_count != 1 ||
		    insn->detail->x86.operands[0].type != X86_OP_IMM)
			continue;
		if ((__u64)insn->detail->x86.operands[0].imm > func_offset &&
		    (__u64)insn->detail->x86.operands[0].imm <= site) {
			*from = insn->address;
			*to = insn->detail->x86.operands[0].imm;
			return true;
		}
	}
	return false;
}

static int choose_x86(csh cs, cs_insn *insn, const __u8 *code, size_t len, int nr_args,
		      struct probe_site *out)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t addr = out->func_offset;
	const char *emulated, *blocker = "no emulated insn";
	__u64 from, to, at = out->func_offset;
	bool found = false;
	char why[64];
	int n;

	for (n = 0; n < PROBE_PLACE_MAX_INSNS && addr - out->func_offset < PROBE_PLACE_MAX_BYTES;
	     n++) {
		at = addr;
		if (!cs_disasm_iter(cs, &p, &left, &addr, insn)) {
			blocker = "undecodable";
			break;
		}
		emulated = kernel_emulates(insn);
		if (n == 0)
			out->entry_is_emulated = emulated != NULL;
		if (emulated) {
			found = true;
			out->probe_offset = insn->address;
			out->skipped_bytes = (__u32)(insn->address - out->func_offset);
			out->tail_jump = is_unconditional_jmp(insn);
			snprintf(out->reason, sizeof(out->reason), "+%u %.12s %.24s: emulated",
				 out->skipped_bytes, insn->mnemonic, insn->op_str);
			break;
		}
		blocker = blocks_walk(cs, insn, nr_args);
		if (blocker) {
			snprintf(why, sizeof(why), "entry: +%u %.12s %.20s",
				 (unsigned int)(at - out->func_offset), insn->mnemonic, blocker);
			break;
		}
		blocker = "no emulated insn";
	}
	if (!found) {
		if (!blocker || !strcmp(blocker, "no emulated insn") ||
		    !strcmp(blocker, "undecodable"))
			snprintf(why, sizeof(why), "entry: %.20s in %u bytes",
				 blocker ? blocker : "", (unsigned int)(at - out->func_offset));
		set_entry(out, why);
		return 0;
	}
	if (out->probe_offset != out->func_offset &&
	    jumps_into_prologue(cs, insn, code, len, out->func_offset, out->probe_offset, &from,
				&to)) {
		snprintf(why, sizeof(why), "entry: jump at +%llu lands at +%llu",
			 (unsigned long long)(from - out->func_offset),
			 (unsigned long long)(to - out->func_offset));
		set_entry(out, why);
	}
	return 0;
}

int probe_place__choose_args(const __u8 *code, size_t len, __u64 func_offset, int nr_args,
			     struct probe_site *out)
{
	cs_insn *insn;
	csh cs;
	int err;

	memset(out, 0, sizeof(*out));
	out->func_offset = func_offset;
	out->probe_offset = func_offset;
	if (!code || !len)
		return -EINVAL;
	if (nr_args < 0 || (nr_args & ~PROBE_PLACE_PAST_SYSCALL) > 6)
		nr_args = PROBE_PLACE_ALL_ARGS;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		set_entry(out, "entry: capstone unavailable");
		return 0;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(cs);
	if (!insn) {
		cs_close(&cs);
		return -ENOMEM;
	}
	err = choose_x86(cs, insn, code, len, nr_args, out);
	cs_free(insn, 1);
	cs_close(&cs);
	return err;
}

#else /* !__x86_64__ */

int probe_place__choose_args(const __u8 *code, size_t len, __u64 func_offset, int nr_args,
			     struct probe_site *out)
{
	(void)nr_args;
	memset(out, 0, sizeof(*out));
	out->func_offset = func_offset;
	if (!code || !len)
		return -EINVAL;
	set_entry(out, "entry: placement is x86-64 only");
	out->at_entry_fallback = true;
	return 0;
}

#endif

int probe_place__choose(const __u8 *code, size_t len, __u64 func_offset, struct probe_site *out)
{
	return probe_place__choose_args(code, len, func_offset, PROBE_PLACE_ALL_ARGS, out);
}

struct elf_func {
	__u64 offset;
	__u64 size;
	bool ifunc;
};

static bool name_matches(const char *name, const char *func, bool versioned_names)
{
	size_t n = strlen(func);

	if (strncmp(name, func, n))
		return false;
	if (name[n] == '\0')
		return true;
	/* .symtab spells the default version "name@@VERSION" */
	return versioned_names && !strncmp(name + n, "@@", 2);
}

/* The file offset of a virtual address: through its section, as libbpf does. */
static int vaddr_to_offset(Elf *elf, const GElf_Sym *sym, __u64 *offset)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;

	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE)
		return -ENOENT;
	scn = elf_getscn(elf, sym->st_shndx);
	if (!scn || !gelf_getshdr(scn, &shdr))
		return -EINVAL;
	if (sym->st_value < shdr.sh_addr || sym->st_value >= shdr.sh_addr + shdr.sh_size)
		return -EINVAL;
	*offset = sym->st_value - shdr.sh_addr + shdr.sh_offset;
	return 0;
}

/*
 * Best definition in one symbol table: a default version (versym without the
 * hidden bit) wins over a hidden one, which wins over nothing.
 */
static int search_symtab(Elf *elf, Elf_Scn *scn, Elf_Data *versym, const char *func,
			 struct elf_func *out)
{
	int best_rank = 0, rank, err;
	GElf_Sym sym, best = { 0 };
	Elf_Data *data;
	GElf_Shdr shdr;
	size_t i, count;
	const char *name;

	if (!gelf_getshdr(scn, &shdr) || !shdr.sh_entsize)
		return -ENOENT;
	data = elf_getdata(scn, NULL);
	if (!data)
		return -ENOENT;
	count = shdr.sh_size / shdr.sh_entsize;
	for (i = 1; i < count; i++) {
		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
		    GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
			continue;
		name = elf_strptr(elf, shdr.sh_link, sym.st_name);
		if (!name || !name_matches(name, func, shdr.sh_type == SHT_SYMTAB))
			continue;
		rank = 2;
		if (versym) {
			GElf_Versym v;

			if (gelf_getversym(versym, (int)i, &v) && (v & 0x8000))
				rank = 1;
		}
		if (rank > best_rank) {
			best_rank = rank;
			best = sym;
		}
	}
	if (!best_rank)
		return -ENOENT;
	err = vaddr_to_offset(elf, &best, &out->offset);
	if (err)
		return err;
	out->size = best.st_size;
	out->ifunc = GELF_ST_TYPE(best.st_info) == STT_GNU_IFUNC;
	return 0;
}

static int elf_lookup_func(Elf *elf, const char *func, struct elf_func *out)
{
	Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL;
	Elf_Data *versym = NULL;
	GElf_Shdr shdr;
	int err = -ENOENT;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (shdr.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (shdr.sh_type == SHT_GNU_versym)
			versym = elf_getdata(scn, NULL);
	}
	if (dynsym)
		err = search_symtab(elf, dynsym, versym, func, out);
	if (err == -ENOENT && symtab)
		err = search_symtab(elf, symtab, NULL, func, out);
	return err;
}

/* libelf on a copy in memory: nothing of the file stays mapped (a truncation cannot SIGBUS). */
static int elf_from_image(void *image, size_t len, Elf **elf)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	if (!image || !len)
		return -ENOEXEC;
	*elf = elf_memory(image, len);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		elf_end(*elf);
		return -ENOEXEC;
	}
	return 0;
}

int elf_func_offset_mem(void *image, size_t len, const char *func, __u64 *offset, __u64 *size)
{
	struct elf_func f;
	Elf *elf;
	int err;

	err = elf_from_image(image, len, &elf);
	if (err)
		return err;
	err = elf_lookup_func(elf, func, &f);
	elf_end(elf);
	if (err)
		return err;
	if (f.ifunc)
		return -EOPNOTSUPP;
	*offset = f.offset;
	if (size)
		*size = f.size;
	return 0;
}

int probe_place__find_mem(void *image, size_t len, const char *func, struct probe_site *out)
{
	struct elf_func f;
	size_t want;
	Elf *elf;
	int err;

	memset(out, 0, sizeof(*out));
	err = elf_from_image(image, len, &elf);
	if (err)
		return err;
	err = elf_lookup_func(elf, func, &f);
	elf_end(elf);
	if (err)
		return err;
	out->func_offset = out->probe_offset = f.offset;
	if (f.ifunc) {
		snprintf(out->reason, sizeof(out->reason), "ifunc: the resolver picks the code");
		return -EOPNOTSUPP;
	}
	if (f.offset >= len)
		return -EIO; /* the symbol points past the end of the file */
	/* a symbol without a size still gets its prologue examined */
	want = f.size ? f.size : PROBE_PLACE_MAX_BYTES;
	if (want > FUNC_BYTES_MAX)
		want = FUNC_BYTES_MAX;
	if (want > len - f.offset)
		want = len - f.offset;
	return probe_place__choose_args((const __u8 *)image + f.offset, want, f.offset,
					probe_place__nr_args(func), out);
}

/* A trusted path (the host's own files, tests; symlinks followed): the same code, on a copy. */
static int read_trusted(const char *path, void **image, size_t *len)
{
	struct observed_file file;
	int fd, err;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = observed_file__adopt(fd, false, 0, 0, &file);
	if (err)
		return err;
	err = observed_file__read_all(&file, 0, image, len);
	observed_file__close(&file);
	return err;
}

int elf_func_offset(const char *elf_path, const char *func, __u64 *offset, __u64 *size)
{
	void *image;
	size_t len;
	int err;

	err = read_trusted(elf_path, &image, &len);
	if (err)
		return err;
	err = elf_func_offset_mem(image, len, func, offset, size);
	free(image);
	return err;
}

int probe_place__find(const char *elf_path, const char *func, struct probe_site *out)
{
	void *image;
	size_t len;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_trusted(elf_path, &image, &len);
	if (err)
		return err;
	err = probe_place__find_mem(image, len, func, out);
	free(image);
	return err;
}
