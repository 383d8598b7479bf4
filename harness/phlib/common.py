# SPDX-License-Identifier: GPL-2.0
"""Paths, command running and dependency installation shared by every stage."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / 'build'
KERNEL_TREE = BUILD / 'linux'
OUT = BUILD / 'out'
LOGS = BUILD / 'logs'
PATCHES = ROOT / 'patches'
CONFIGS = ROOT / 'configs'
GUEST_SRC = ROOT / 'guest'
CACHE = Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / 'panic-hooks'

IDENTITY_NAME = 'Panic Hooks Project'
IDENTITY_EMAIL = 'panic-hooks@example.org'

# Debian packages the harness needs, by the command that proves each is there.
APT_PACKAGES = {
	'/usr/src/linux-source-6.12.tar.xz': 'linux-source-6.12',
	'gcc': 'build-essential',
	'make': 'build-essential',
	'flex': 'flex',
	'bison': 'bison',
	'bc': 'bc',
	'/usr/include/libelf.h': 'libelf-dev',
	'/usr/include/openssl/ssl.h': 'libssl-dev',
	'cpio': 'cpio',
	'xz': 'xz-utils',
	'rsync': 'rsync',
	'git': 'git',
	'ccache': 'ccache',
	'sparse': 'sparse',
	# One QEMU, cross compiler and (for the guest's static /init) C
	# library per entry of arches.PLATFORMS and arches.ARCHES; a unit test
	# holds the two tables together.
	'qemu-system-x86_64': 'qemu-system-x86',
	'qemu-system-i386': 'qemu-system-x86',
	'qemu-system-aarch64': 'qemu-system-arm',
	'qemu-system-riscv64': 'qemu-system-misc',
	'qemu-system-ppc64': 'qemu-system-ppc',
	'qemu-system-s390x': 'qemu-system-misc',
	'i686-linux-gnu-gcc': 'gcc-i686-linux-gnu',
	'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
	'riscv64-linux-gnu-gcc': 'gcc-riscv64-linux-gnu',
	'powerpc64le-linux-gnu-gcc': 'gcc-powerpc64le-linux-gnu',
	's390x-linux-gnu-gcc': 'gcc-s390x-linux-gnu',
	'arm-linux-gnueabihf-gcc': 'gcc-arm-linux-gnueabihf',
	'/usr/i686-linux-gnu/lib/libc.a': 'libc6-dev-i386-cross',
	'/usr/aarch64-linux-gnu/lib/libc.a': 'libc6-dev-arm64-cross',
	'/usr/riscv64-linux-gnu/lib/libc.a': 'libc6-dev-riscv64-cross',
	'/usr/powerpc64le-linux-gnu/lib/libc.a': 'libc6-dev-ppc64el-cross',
	'/usr/s390x-linux-gnu/lib/libc.a': 'libc6-dev-s390x-cross',
	'/sbin/kexec': 'kexec-tools',
	'/usr/bin/makedumpfile': 'makedumpfile',
	'/bin/busybox': 'busybox-static',
	'perl': 'perl',
	'readelf': 'binutils',
	# checkpatch.pl's SPDX check runs scripts/spdxcheck.py with these.
	'/usr/lib/python3/dist-packages/ply': 'python3-ply',
	'/usr/lib/python3/dist-packages/git': 'python3-git',
}


def log(msg):
	print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


def die(msg):
	print(f'error: {msg}', file=sys.stderr, flush=True)
	sys.exit(2)


class CommandError(Exception):
	"""A command failed; carries where its output went."""

	def __init__(self, argv, returncode, logfile, tail):
		super().__init__(f'{argv[0]} exited {returncode} (log: {logfile})\n{tail}')
		self.logfile = logfile
		self.tail = tail


def run(argv, logfile=None, cwd=None, env=None, check=True, timeout=None, input_data=None):
	"""Run argv; send output to logfile when given, else capture it.

	Returns the CompletedProcess. On failure with check set, raises
	CommandError with the last lines of output.
	"""
	argv = [str(a) for a in argv]
	full_env = dict(os.environ)
	if env:
		full_env.update(env)
	if logfile:
		logfile = Path(logfile)
		logfile.parent.mkdir(parents=True, exist_ok=True)
		with open(logfile, 'ab') as f:
			f.write(f'\n$ {" ".join(argv)}\n'.encode())
			f.flush()
			proc = subprocess.run(argv, cwd=cwd, env=full_env, stdout=f,
					      stderr=subprocess.STDOUT, timeout=timeout,
					      input=input_data)
		if check and proc.returncode != 0:
			raise CommandError(argv, proc.returncode, logfile, tail_of(logfile))
		return proc
	proc = subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True,
			      timeout=timeout, input=input_data)
	if check and proc.returncode != 0:
		out = (proc.stdout + proc.stderr).decode(errors='replace')
		raise CommandError(argv, proc.returncode, '(captured)', '\n'.join(out.splitlines()[-30:]))
	return proc


def output(argv, cwd=None, env=None):
	return run(argv, cwd=cwd, env=env).stdout.decode().strip()


def tail_of(path, lines=25):
	try:
		text = Path(path).read_text(errors='replace')
	except OSError:
		return ''
	return '\n'.join(text.splitlines()[-lines:])


def jobs():
	return os.cpu_count() or 2


def ensure_packages(extra=None):
	"""Install the Debian packages whose marker file or command is missing."""
	wanted = dict(APT_PACKAGES)
	wanted.update(extra or {})
	missing = sorted({pkg for probe, pkg in wanted.items()
			  if not (Path(probe).exists() if probe.startswith('/') else shutil.which(probe))})
	if not missing:
		return
	if os.geteuid() != 0:
		die(f'missing Debian packages {" ".join(missing)}; install them as root')
	log(f'installing Debian packages: {" ".join(missing)}')
	env = {'DEBIAN_FRONTEND': 'noninteractive'}
	logfile = LOGS / 'apt.log'
	run(['apt-get', 'update'], logfile=logfile, env=env)
	run(['apt-get', 'install', '-y', '--no-install-recommends'] + missing, logfile=logfile, env=env)
