# SPDX-License-Identifier: GPL-2.0
"""One QEMU run: serial console and QMP events recorded with host
timestamps, the QEMU process's CPU time measured, a timeout enforced."""

import json
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import common

ACCEL_TCG = ['-accel', 'tcg,thread=single', '-cpu', 'max']

# arch: (QEMU binary, machine arguments)
SYSTEMS = {
	'x86_64': ('qemu-system-x86_64', ['-machine', 'q35']),
	'arm64': ('qemu-system-aarch64', ['-machine', 'virt']),
	'riscv64': ('qemu-system-riscv64', ['-machine', 'virt']),
}


@dataclass
class Machine:
	"""What to boot and how."""
	name: str
	kernel: Path
	initrd: Path
	append: str
	devices: list = field(default_factory=list)   # extra QEMU arguments
	smp: int = 1
	memory_mb: int = 512
	disk_mb: int = 0                               # dump disk, /dev/vda
	timeout: float = 120
	accel: list = field(default_factory=lambda: list(ACCEL_TCG))
	arch: str = 'x86_64'


@dataclass
class Line:
	t: float      # seconds since QEMU started, host clock
	text: str


@dataclass
class Event:
	t: float
	name: str
	data: dict


@dataclass
class Outcome:
	machine: Machine
	lines: list
	events: list
	exit_code: int
	timed_out: bool
	cpu_seconds: float
	wall_seconds: float
	rundir: Path

	@property
	def disk(self):
		return self.rundir / 'dump-disk.img'

	def first(self, needle):
		"""First console line containing needle, or None."""
		return next((ln for ln in self.lines if needle in ln.text), None)

	def count(self, needle):
		return sum(needle in ln.text for ln in self.lines)

	def events_named(self, name):
		return [e for e in self.events if e.name == name]

	def timeline(self):
		"""Console lines and QMP events merged in host-time order."""
		items = [(ln.t, 'console', ln.text) for ln in self.lines]
		items += [(e.t, 'QMP', f'{e.name} {json.dumps(e.data)}') for e in self.events]
		return sorted(items, key=lambda x: x[0])


class Stop(Exception):
	pass


def _children_cpu():
	r = resource.getrusage(resource.RUSAGE_CHILDREN)
	return r.ru_utime + r.ru_stime


def proc_cpu_seconds(pid):
	"""utime + stime of a live process, from /proc."""
	try:
		fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
	except OSError:
		return None
	return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class Qemu:
	"""A running QEMU; use as a context manager, or call run()."""

	def __init__(self, machine, rundir=None):
		self.m = machine
		self.rundir = Path(rundir or common.BUILD / 'runs' / machine.name)
		self.lines = []
		self.events = []
		self.proc = None
		self.start = None
		self.qmp_sock = None
		self._lock = threading.Lock()
		self._threads = []

	def argv(self):
		m = self.m
		binary, machine = SYSTEMS[m.arch]
		argv = [binary, '-nodefaults', '-no-reboot', '-display', 'none', *machine,
			'-m', str(m.memory_mb), '-smp', str(m.smp),
			'-kernel', m.kernel, '-initrd', m.initrd, '-append', m.append,
			'-serial', 'stdio', '-monitor', 'none',
			'-qmp', f'unix:{self.rundir / "qmp.sock"},server=on,wait=off',
			'-action', 'panic=none']
		argv += m.accel
		if m.disk_mb:
			argv += ['-drive', f'file={self.rundir / "dump-disk.img"},format=raw,if=virtio']
		return [str(a) for a in argv + m.devices]

	def __enter__(self):
		shutil.rmtree(self.rundir, ignore_errors=True)
		self.rundir.mkdir(parents=True)
		if self.m.disk_mb:
			with open(self.rundir / 'dump-disk.img', 'wb') as f:
				f.truncate(self.m.disk_mb << 20)
		(self.rundir / 'cmdline').write_text(' '.join(self.argv()) + '\n')
		self._cpu_before = _children_cpu()
		self.start = time.monotonic()
		self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
					     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
		self._spawn(self._read_serial)
		self._connect_qmp()
		self._spawn(self._read_qmp)
		return self

	def __exit__(self, *exc):
		self.kill()
		self._save()

	def now(self):
		return time.monotonic() - self.start

	def _spawn(self, fn):
		t = threading.Thread(target=fn, daemon=True)
		t.start()
		self._threads.append(t)

	def _read_serial(self):
		buf = b''
		while True:
			chunk = self.proc.stdout.read1(4096)
			if not chunk:
				break
			buf += chunk
			*done, buf = buf.split(b'\n')
			t = self.now()
			with self._lock:
				for raw in done:
					self.lines.append(Line(t, raw.decode(errors='replace').rstrip('\r')))
		if buf:
			self.lines.append(Line(self.now(), buf.decode(errors='replace')))

	def _connect_qmp(self):
		path = str(self.rundir / 'qmp.sock')
		deadline = time.monotonic() + 10
		while True:
			try:
				s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
				s.connect(path)
				break
			except OSError:
				s.close()
				if time.monotonic() > deadline or self.proc.poll() is not None:
					raise common.CommandError(self.argv(), self.proc.poll() or -1,
								  self.rundir, self._early_failure())
				time.sleep(0.02)
		self.qmp_sock = s
		self._qmp_file = s.makefile('rwb')
		try:
			json.loads(self._qmp_file.readline())       # greeting
			self.qmp('qmp_capabilities')
		except (OSError, ValueError) as e:
			raise common.CommandError(self.argv(), self.proc.poll() or -1, self.rundir,
						  self._early_failure()) from e

	def _early_failure(self):
		"""Why QEMU is gone before QMP answered: its first words, if any."""
		time.sleep(0.2)         # let the reader thread collect them
		with self._lock:
			said = next((ln.text for ln in self.lines if ln.text.strip()), '')
		return f'QMP never came up; QEMU said: {said}' if said else 'QMP never came up'

	def qmp(self, command, **arguments):
		msg = {'execute': command}
		if arguments:
			msg['arguments'] = arguments
		self._qmp_file.write(json.dumps(msg).encode() + b'\n')
		self._qmp_file.flush()

	def _read_qmp(self):
		try:
			for raw in self._qmp_file:
				self._on_qmp(raw)
		except OSError:
			pass        # QEMU went away

	def _on_qmp(self, raw):
		t = self.now()
		try:
			msg = json.loads(raw)
		except ValueError:
			return
		if 'event' in msg:
			with self._lock:
				self.events.append(Event(t, msg['event'], msg.get('data', {})))

	def cpu_seconds(self):
		"""CPU time QEMU used so far; exact once it has been reaped."""
		if self.proc.returncode is not None:
			return _children_cpu() - self._cpu_before
		return proc_cpu_seconds(self.proc.pid)

	def wait(self, until=None, timeout=None):
		"""Wait for QEMU to exit, or until(self) is true; True if either happened."""
		deadline = self.start + (timeout if timeout is not None else self.m.timeout)
		while time.monotonic() < deadline:
			if self.proc.poll() is not None:
				return True
			if until:
				with self._lock:
					if until(self):
						return True
			time.sleep(0.05)
		return False

	def seen(self, needle):
		return any(needle in ln.text for ln in self.lines)

	def kill(self):
		if self.proc and self.proc.poll() is None:
			self.proc.kill()
		if self.proc:
			self.proc.wait()
		for t in self._threads:
			t.join(timeout=2)

	def _save(self):
		with open(self.rundir / 'serial.log', 'w') as f:
			for ln in self.lines:
				f.write(f'{ln.t:9.3f} {ln.text}\n')
		with open(self.rundir / 'qmp-events.log', 'w') as f:
			for e in self.events:
				f.write(f'{e.t:9.3f} {e.name} {json.dumps(e.data)}\n')


def run(machine, until=None, linger=0.0):
	"""Boot machine, wait for exit or until(), then linger seconds; Outcome."""
	with Qemu(machine) as q:
		finished = q.wait(until)
		if finished and linger and q.proc.poll() is None:
			q.wait(timeout=q.now() + linger)
		wall = q.now()
		q.kill()
		outcome = Outcome(machine, list(q.lines), list(q.events), q.proc.returncode,
				  not finished, q.cpu_seconds(), wall, q.rundir)
	return outcome
