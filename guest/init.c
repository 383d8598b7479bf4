// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the test guest. Words on the kernel command line choose what it
 * does; every step it takes is announced on the console with a "ph-init:"
 * prefix so the host can order it against the kernel's messages and QMP
 * events.
 *
 *   ph.mode=idle       stay idle (default)
 *   ph.mode=panic      crash the kernel through sysrq-c
 *   ph.mode=kdump      load /boot/vmlinuz as capture kernel (kexec -p), then crash
 *   ph.crash=TYPE      how panic and kdump crash: sysrq (default, sysrq-c), nmi
 *                      (wait for the host to inject one), or an LKDTM crash type
 *                      written to /sys/kernel/debug/provoke-crash/DIRECT
 *   ph.cpu=N           crash on CPU N
 *   ph.modules=+a,-b   first, in order: load /lib/modules/a.ko, unload module b
 *   ph.pvpanic_events=N  write N to the pvpanic devices' sysfs events mask
 *   ph.capture_append="..." extra words for the capture kernel's command line
 *
 * The capture kernel is loaded with kexec-tools where the image has them
 * (x86_64), else with kexec_file_load() directly. In a capture kernel
 * (/proc/vmcore exists) it prints the PANIC_HOOKS= line of the dump's
 * VMCOREINFO, saves the dump with makedumpfile in flattened ELF form onto
 * /dev/vda where it has makedumpfile, and powers off.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMDLINE_MAX 4096
#define DUMP_DISK "/dev/vda"
#define CAPTURE_KERNEL "/boot/vmlinuz"
#define CAPTURE_INITRD "/boot/capture.img"
#define CAPTURE_CMDLINE "reset_devices nr_cpus=1 irqpoll panic=-1 ph.mode=capture"
#define KEXEC_TOOL "/sbin/kexec"
#define MAKEDUMPFILE "/usr/bin/makedumpfile"
#ifndef KEXEC_FILE_ON_CRASH
#define KEXEC_FILE_ON_CRASH 0x00000002
#endif

static char cmdline[CMDLINE_MAX];

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("ph-init: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void power_off(void)
{
	sync();
	say("power off");
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void fail(const char *what)
{
	say("FAILED: %s: %s", what, strerror(errno));
	power_off();
}

/* Value of "key=" on the command line (quotes allowed), or NULL. */
static const char *param(const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		int quoted = 0;

		while (*p && (quoted || *p != ' ')) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		if ((size_t)(p - word) > klen && !strncmp(word, key, klen) && word[klen] == '=') {
			const char *v = word + klen + 1;
			size_t n = 0;

			for (; v < p && n + 1 < len; v++)
				if (*v != '"')
					buf[n++] = *v;
			buf[n] = '\0';
			return buf;
		}
	}
	return NULL;
}

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY)
		fail(dir);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Run argv with stdout sent to out_fd (-1: inherit); returns exit status. */
static int spawn(char *const argv[], int out_fd)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		fail("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void load_module(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/lib/modules/%s.ko", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0))
		fail(path);
	close(fd);
	say("loaded module %s", name);
}

static void unload_module(const char *name)
{
	if (syscall(SYS_delete_module, name, O_NONBLOCK))
		fail(name);
	say("unloaded module %s", name);
}

/* "+a,-b": load a, then unload b. */
static void change_modules(char *ops)
{
	for (char *op = strtok(ops, ","); op; op = strtok(NULL, ","))
		(*op == '-' ? unload_module : load_module)(op + (*op == '-' || *op == '+'));
}

static void set_pvpanic_events(const char *mask)
{
	static const char *const drivers[] = {
		"/sys/bus/platform/drivers/pvpanic-mmio",
		"/sys/bus/pci/drivers/pvpanic-pci",
	};
	char path[512];
	int found = 0;

	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		DIR *dir = opendir(drivers[i]);
		struct dirent *de;

		if (!dir)
			continue;
		while ((de = readdir(dir))) {
			snprintf(path, sizeof(path), "%s/%s/events", drivers[i], de->d_name);
			if (access(path, W_OK))
				continue;
			if (write_file(path, mask))
				fail(path);
			say("pvpanic events of %s set to %s", de->d_name, mask);
			found++;
		}
		closedir(dir);
	}
	if (!found)
		say("no pvpanic device to set events on");
}

static void pin_to_cpu(void)
{
	char value[16];
	cpu_set_t set;

	if (!param("ph.cpu", value, sizeof(value)))
		return;
	CPU_ZERO(&set);
	CPU_SET(atoi(value), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fail("sched_setaffinity");
	say("running on CPU %d", sched_getcpu());
}

static void crash(void)
{
	char type[64];

	pin_to_cpu();

	if (!param("ph.crash", type, sizeof(type)) || !strcmp(type, "sysrq")) {
		say("triggering panic (sysrq-c)");
		if (write_file("/proc/sys/kernel/sysrq", "1") ||
		    write_file("/proc/sysrq-trigger", "c"))
			fail("sysrq-trigger");
	} else if (!strcmp(type, "nmi")) {
		say("waiting for an NMI");
		for (;;)
			pause();
	} else {
		mount_fs("debugfs", "/sys/kernel/debug");
		say("triggering LKDTM %s", type);
		if (write_file("/sys/kernel/debug/provoke-crash/DIRECT", type))
			fail("provoke-crash/DIRECT");
	}
	say("FAILED: still alive after the crash");
	power_off();
}

/* The console= words of our own command line, for the capture kernel. */
static void console_words(char *buf, size_t len)
{
	const char *p = cmdline;
	size_t n = 0;

	buf[0] = '\0';
	while ((p = strstr(p, "console="))) {
		size_t w = strcspn(p, " ");

		if ((p == cmdline || p[-1] == ' ') && n + w + 2 < len) {
			memcpy(buf + n, p, w);
			n += w;
			buf[n++] = ' ';
			buf[n] = '\0';
		}
		p += w;
	}
}

static void load_capture_kernel(void)
{
	char append[CMDLINE_MAX + 512], extra[CMDLINE_MAX], consoles[512], initrd[256], state[8];

	console_words(consoles, sizeof(consoles));
	snprintf(append, sizeof(append), "%s%s %s", consoles, CAPTURE_CMDLINE,
		 param("ph.capture_append", extra, sizeof(extra)) ? extra : "");
	if (!access(KEXEC_TOOL, X_OK)) {
		char arg[CMDLINE_MAX + 600];
		char *argv[] = { KEXEC_TOOL, "-p", CAPTURE_KERNEL, initrd, arg, NULL };

		snprintf(initrd, sizeof(initrd), "--initrd=%s", CAPTURE_INITRD);
		snprintf(arg, sizeof(arg), "--command-line=%s", append);
		say("loading capture kernel: kexec -p %s", CAPTURE_KERNEL);
		if (spawn(argv, -1)) {
			errno = EINVAL;
			fail("kexec -p");
		}
	} else {
		int kfd = open(CAPTURE_KERNEL, O_RDONLY), ifd = open(CAPTURE_INITRD, O_RDONLY);

		say("loading capture kernel: kexec_file_load %s", CAPTURE_KERNEL);
		if (kfd < 0 || ifd < 0)
			fail(CAPTURE_KERNEL);
#ifdef SYS_kexec_file_load
		if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(append) + 1, append,
			    KEXEC_FILE_ON_CRASH))
			fail("kexec_file_load");
#else
		errno = ENOSYS;
		fail("kexec_file_load");
#endif
		close(kfd);
		close(ifd);
	}
	if (read_file("/sys/kernel/kexec_crash_loaded", state, sizeof(state)) || state[0] != '1') {
		errno = ENOENT;
		fail("kexec_crash_loaded");
	}
	say("capture kernel loaded");
}

/* The PANIC_HOOKS= line of the VMCOREINFO note in /proc/vmcore's headers. */
static void print_panic_hooks_record(void)
{
	static char head[1 << 16];
	int fd = open("/proc/vmcore", O_RDONLY);
	ssize_t len = fd < 0 ? -1 : read(fd, head, sizeof(head) - 1);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)head;
	char *rec;

	if (fd >= 0)
		close(fd);
	if (len < (ssize_t)sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64) {
		say("FAILED: /proc/vmcore has no ELF64 header");
		return;
	}
	head[len] = '\0';
	/* The note's text is plain in the headers: find the line there. */
	for (rec = head; rec < head + len; rec++) {
		if (!memcmp(rec, "PANIC_HOOKS=", 12) && (rec == head || rec[-1] == '\n')) {
			say("vmcoreinfo %.*s", (int)strcspn(rec, "\n"), rec);
			return;
		}
	}
	say("vmcoreinfo has no PANIC_HOOKS line");
}

static void save_dump(void)
{
	char *argv[] = { MAKEDUMPFILE, "-F", "-E", "-d", "31", "/proc/vmcore", NULL };
	int fd, rc;

	say("capture kernel up");
	print_panic_hooks_record();
	if (access(MAKEDUMPFILE, X_OK) || access(DUMP_DISK, W_OK)) {
		say("no makedumpfile or dump disk here: not saving the dump");
		/*
		 * Stay a moment: some machines (riscv's virt) power off by ending
		 * QEMU without a QMP event, and the host must see QMP answer
		 * after this kernel started to know it missed no event before.
		 */
		usleep(300 * 1000);
		power_off();
	}
	say("saving /proc/vmcore to %s", DUMP_DISK);
	fd = open(DUMP_DISK, O_WRONLY);
	if (fd < 0)
		fail(DUMP_DISK);
	rc = spawn(argv, fd);
	if (fsync(fd))
		fail("fsync " DUMP_DISK);
	close(fd);
	if (rc)
		say("FAILED: makedumpfile exited %d", rc);
	else
		say("dump saved");
	power_off();
}

int main(void)
{
	char mode[64], mask[32], modules[512];
	int fd;

	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("devtmpfs", "/dev");
	fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0 || read(fd, cmdline, sizeof(cmdline) - 1) < 0)
		fail("/proc/cmdline");
	close(fd);
	cmdline[strcspn(cmdline, "\n")] = '\0';

	if (!access("/proc/vmcore", R_OK))
		save_dump();

	if (!param("ph.mode", mode, sizeof(mode)))
		strcpy(mode, "idle");
	say("mode %s", mode);
	if (param("ph.modules", modules, sizeof(modules)))
		change_modules(modules);
	if (param("ph.pvpanic_events", mask, sizeof(mask)))
		set_pvpanic_events(mask);

	if (!strcmp(mode, "kdump")) {
		load_capture_kernel();
		crash();
	} else if (!strcmp(mode, "panic")) {
		crash();
	}
	say("idle");
	for (;;)
		pause();
}
