# SPDX-License-Identifier: GPL-2.0
"""One QEMU run: serial console and QMP events recorded with host
timestamps, QMP replies read and checked, the CPU time of QEMU and of its
vCPU threads measured, a timeout enforced."""

import json
import os
import queue
import resource
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from . import common
from .arches import PLATFORMS
from .report import CheckFailed

ACCEL_TCG = ['-accel', 'tcg,thread=single']
ACCEL_TCG_MULTI = ['-accel', 'tcg,thread=multi']
QMP_TIMEOUT = 10.0
HEARTBEAT = 0.1
SHUTDOWN_GRACE = 5.0

# What wait() saw: the guest's condition, QEMU's exit, or the timeout.
CONDITION, EXITED, TIMEOUT = 'condition', 'exited', 'timeout'


@dataclass
class Machine:
	"""What to boot and how."""
	name: str
	platform: str
	kernel: Path
	initrd: Path
	append: str
	devices: list[str] = field(default_factory=list)   # extra QEMU arguments
	smp: int = 1
	memory_mb: int = 512
	disk_mb: int = 0                                   # dump disk, /dev/vda
	timeout: float = 120
	accel: list[str] = field(default_factory=lambda: list(ACCEL_TCG))
	binary: str = ''                                   # another QEMU than the platform's
	# What the guest's init prints first ('' for an init not ours): see
	# boot_hung().
	init_mark: str = 'ph-init: '


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
	lines: list[Line]
	events: list[Event]
	exit_code: Optional[int]       # None: still running when the harness stopped it
	timed_out: bool
	cpu_seconds: float
	wall_seconds: float
	rundir: Path
	# QMP answered to the end (a reply after the guest was done, or the
	# SHUTDOWN event of a guest that powered off): "no event" means none.
	qmp_alive: bool
	# Host times of QMP's replies (a heartbeat asks every HEARTBEAT s).
	qmp_replies: list[float] = field(default_factory=list)

	def qmp_answered_after(self, t: float) -> bool:
		"""Whether QMP answered, or said SHUTDOWN, after host time t: then
		every event the guest caused before t has been seen. (A guest that
		powers off through a device that just ends QEMU, riscv's SiFive
		test device, leaves no SHUTDOWN event to prove it.)"""
		return any(r > t for r in self.qmp_replies) or \
			any(e.name == 'SHUTDOWN' and e.t > t for e in self.events)

	@property
	def disk(self) -> Path:
		return self.rundir / 'dump-disk.img'

	@property
	def serial(self) -> Path:
		return self.rundir / 'serial.log'

	def first(self, needle: str) -> Optional[Line]:
		"""First console line containing needle, or None."""
		return next((ln for ln in self.lines if needle in ln.text), None)

	def count(self, needle: str) -> int:
		return sum(needle in ln.text for ln in self.lines)

	def events_named(self, *names: str) -> list[Event]:
		return [e for e in self.events if e.name in names]

	def timeline(self) -> list[tuple[float, str, str]]:
		"""Console lines and QMP events merged in host-time order."""
		items = [(ln.t, 'console', ln.text) for ln in self.lines]
		items += [(e.t, 'QMP', f'{e.name} {json.dumps(e.data)}') for e in self.events]
		return sorted(items, key=lambda x: x[0])


_active: set[Path] = set()
_active_lock = threading.Lock()


class QmpError(Exception):
	pass


def _children_cpu() -> float:
	r = resource.getrusage(resource.RUSAGE_CHILDREN)
	return r.ru_utime + r.ru_stime


def _stat_cpu(stat: Path) -> float:
	fields = stat.read_text().rsplit(')', 1)[1].split()
	return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


@dataclass
class VcpuSample:
	cpu: float           # seconds of the vCPU threads
	wakeups: int         # their voluntary context switches: each is a wakeup


def vcpu_sample(pid: int) -> VcpuSample:
	"""CPU time and voluntary switches of QEMU's vCPU threads (named with
	debug-threads=on: "CPU 0/TCG"). No vCPU thread read is an error: it
	would otherwise read as a perfectly quiet guest."""
	cpu, wakeups, read = 0.0, 0, 0
	for task in Path(f'/proc/{pid}/task').iterdir():
		try:
			if 'CPU' not in (task / 'comm').read_text():
				continue
			cpu += _stat_cpu(task / 'stat')
			for line in (task / 'status').read_text().splitlines():
				if line.startswith('voluntary_ctxt_switches'):
					wakeups += int(line.split()[1])
			read += 1
		except OSError:
			continue
	if not read:
		raise CheckFailed(f'no vCPU thread of QEMU {pid} could be read (debug-threads=on?)')
	return VcpuSample(cpu, wakeups)


class Qemu:
	"""A running QEMU; use as a context manager, or call run()."""

	def __init__(self, machine: Machine, rundir: Optional[Path] = None):
		self.m = machine
		self.rundir = Path(rundir or common.BUILD / 'runs' / machine.name)
		self.lines: list[Line] = []
		self.events: list[Event] = []
		self._proc: Optional[subprocess.Popen] = None
		self.start = 0.0
		self._replies: queue.Queue = queue.Queue()
		self.replies_at: list[float] = []
		self._lock = threading.Lock()
		self._qmp_lock = threading.Lock()
		self._threads: list[threading.Thread] = []
		self._cpu_before = 0.0

	def argv(self) -> list[str]:
		m, p = self.m, PLATFORMS[self.m.platform]
		argv = [m.binary or p.qemu, '-nodefaults', '-no-reboot', '-display', 'none', *p.machine, *p.cpu,
			'-m', str(m.memory_mb), '-smp', str(m.smp), '-name', f'{m.name},debug-threads=on',
			'-kernel', m.kernel, '-initrd', m.initrd, '-append', m.append,
			*p.serial, '-monitor', 'none',
			'-qmp', f'unix:{self.rundir / "qmp.sock"},server=on,wait=off',
			'-action', 'panic=none', *m.accel]
		if m.disk_mb:
			argv += ['-drive', f'file={self.rundir / "dump-disk.img"},format=raw,if=virtio']
		return [str(a) for a in argv + m.devices]

	@property
	def proc(self) -> subprocess.Popen:
		"""The QEMU process (started by entering the context)."""
		assert self._proc is not None, 'QEMU has not been started'
		return self._proc

	@proc.setter
	def proc(self, value: subprocess.Popen) -> None:
		self._proc = value

	def __enter__(self) -> 'Qemu':
		# Runs of the same machine at once (the torture matrix's jobs)
		# each get a directory of their own.
		with _active_lock:
			base, n = self.rundir, 1
			while self.rundir in _active:
				n += 1
				self.rundir = base.with_name(f'{base.name}-{n}')
			_active.add(self.rundir)
		try:
			return self._start()
		except BaseException:
			self.__exit__()
			raise

	def _start(self) -> 'Qemu':
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
		return self

	def __exit__(self, *exc: Any) -> None:
		self.kill()
		if self.rundir.exists():
			self._save()
		with _active_lock:
			_active.discard(self.rundir)

	def now(self) -> float:
		return time.monotonic() - self.start

	def _spawn(self, fn: Callable[[], None]) -> None:
		t = threading.Thread(target=fn, daemon=True)
		t.start()
		self._threads.append(t)

	def _read_serial(self) -> None:
		assert self.proc and self.proc.stdout
		buf = b''
		while True:
			chunk = self.proc.stdout.read1(4096)       # type: ignore[attr-defined]
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

	def _connect_qmp(self) -> None:
		path = str(self.rundir / 'qmp.sock')
		deadline = time.monotonic() + 10
		while True:
			s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
			try:
				s.connect(path)
				break
			except OSError:
				s.close()
				if time.monotonic() > deadline or self.proc.poll() is not None:
					raise common.CommandError(self.argv(), self.proc.poll() or -1,
								  self.rundir, self._early_failure())
				time.sleep(0.02)
		self._qmp_file = s.makefile('rwb')
		try:
			# The greeting comes first; an event seen before it (QEMU
			# 7.2 has been seen to send RESUME first) is kept.
			for _ in range(10):
				greeting = json.loads(self._qmp_file.readline())
				if 'event' not in greeting:
					break
				self.events.append(Event(self.now(), greeting['event'],
							 greeting.get('data', {})))
			if 'QMP' not in greeting:
				raise QmpError(f'not a QMP greeting: {greeting}')
			self._spawn(self._read_qmp)
			self.qmp('qmp_capabilities')
			self._spawn(self._heartbeat)
		except (OSError, ValueError, QmpError) as e:
			raise common.CommandError(self.argv(), self.proc.poll() or -1, self.rundir,
						  f'{self._early_failure()} ({e})') from e

	def _early_failure(self) -> str:
		"""Why QEMU is gone before QMP answered: its first words, if any."""
		time.sleep(0.2)         # let the reader thread collect them
		with self._lock:
			said = next((ln.text for ln in self.lines if ln.text.strip()), '')
		return f'QMP never came up; QEMU said: {said}' if said else 'QMP never came up'

	def qmp(self, command: str, **arguments: Any) -> Any:
		"""Send a QMP command and return its reply's "return" value."""
		msg: dict[str, Any] = {'execute': command}
		if arguments:
			msg['arguments'] = arguments
		with self._qmp_lock:
			self._qmp_file.write(json.dumps(msg).encode() + b'\n')
			self._qmp_file.flush()
			try:
				reply = self._replies.get(timeout=QMP_TIMEOUT)
			except queue.Empty:
				raise QmpError(f'no reply to {command} within {QMP_TIMEOUT} s') from None
		if 'error' in reply:
			raise QmpError(f'{command}: {reply["error"]}')
		return reply.get('return')

	def _read_qmp(self) -> None:
		try:
			for raw in self._qmp_file:
				t = self.now()
				try:
					msg = json.loads(raw)
				except ValueError:
					continue
				if 'event' in msg:
					with self._lock:
						self.events.append(Event(t, msg['event'], msg.get('data', {})))
				elif 'return' in msg or 'error' in msg:
					self.replies_at.append(t)
					self._replies.put(msg)
		except OSError:
			pass        # QEMU went away

	def _heartbeat(self) -> None:
		"""Ask QMP something every HEARTBEAT seconds while QEMU runs, so that
		a reply after any moment of the run proves the events before it
		were delivered."""
		while self.alive():
			try:
				self.qmp('query-status')
			except (QmpError, OSError, ValueError):
				return
			time.sleep(HEARTBEAT)

	def alive(self) -> bool:
		return self._proc is not None and self._proc.poll() is None

	def cpu_seconds(self) -> float:
		"""CPU time QEMU used so far; exact once it has been reaped."""
		if not self.alive():
			return _children_cpu() - self._cpu_before
		return _stat_cpu(Path(f'/proc/{self.proc.pid}/stat'))

	def vcpus(self) -> VcpuSample:
		"""The vCPU threads' sample; a QEMU that is gone says so, with its
		exit status, rather than that its threads cannot be read."""
		if not self.alive():
			raise CheckFailed(f'QEMU exited during the window (exit code {self.proc.poll()}): '
					  'a guest that is gone is not a halted guest',
					  self.rundir / 'serial.log')
		return vcpu_sample(self.proc.pid)

	def wait(self, until: Optional[Callable[['Qemu'], bool]] = None,
		 timeout: Optional[float] = None) -> str:
		"""Wait for until(self) (CONDITION), QEMU's exit (EXITED), or the
		timeout, counted from QEMU's start (TIMEOUT)."""
		deadline = self.start + (timeout if timeout is not None else self.m.timeout)
		while time.monotonic() < deadline:
			if until:
				with self._lock:
					if until(self):
						return CONDITION
			if not self.alive() or self._hung_after_shutdown():
				return EXITED
			time.sleep(0.05)
		return TIMEOUT

	def _hung_after_shutdown(self) -> bool:
		"""QEMU said SHUTDOWN (the guest powered off or reset) long ago but
		has not exited: seen once in a few hundred runs. The guest is done;
		the run is treated as exited (kill() ends QEMU)."""
		done = next((e.t for e in self.events if e.name == 'SHUTDOWN'), None)
		return done is not None and self.now() - done > SHUTDOWN_GRACE

	def seen(self, needle: str) -> bool:
		return any(needle in ln.text for ln in self.lines)

	def qmp_alive(self) -> bool:
		"""Whether QMP still answers, or said goodbye with SHUTDOWN."""
		if any(e.name == 'SHUTDOWN' for e in self.events):
			return True
		if not self.alive():
			return False
		try:
			self.qmp('query-status')
			return True
		except (QmpError, OSError):
			return False

	def kill(self) -> None:
		if self._proc and self._proc.poll() is None:
			self._proc.kill()
		if self._proc:
			self._proc.wait()
		for t in self._threads:
			t.join(timeout=2)

	def save_serial(self, path: Path) -> None:
		"""The console so far, one timed line each (QEMU may still run)."""
		with open(path, 'w') as f:
			for ln in self.lines:
				f.write(f'{ln.t:9.3f} {ln.text}\n')

	def _save(self) -> None:
		self.save_serial(self.rundir / 'serial.log')
		with open(self.rundir / 'qmp-events.log', 'w') as f:
			for e in self.events:
				f.write(f'{e.t:9.3f} {e.name} {json.dumps(e.data)}\n')


# A guest that never reaches its init says nothing about what a check
# looks at, which comes later. Under TCG that happens, in code the series
# does not touch: a riscv64 guest with two harts stopped for good at "smp:
# Bringing up secondary CPUs ..." once in 433 boots of one cell here (its boot
# hart waits for the second with a timeout that needs the timer interrupt).
# Such a boot is given up after BOOT_LIMIT seconds and booted once more,
# said on the console and its serial log kept; a second hang is the check's
# failure. Boots reach init in under 10 s on every platform here.
BOOT_LIMIT = 45.0


def boot_hung(q: 'Qemu') -> bool:
	"""Whether q's guest hung before its init: BOOT_LIMIT seconds without
	the machine's init_mark, QEMU still running. If so, the serial log is
	kept beside the run directory, and the hang said."""
	m = q.m
	if not m.init_mark or m.timeout <= BOOT_LIMIT:
		return False
	if q.wait(lambda q: q.seen(m.init_mark), timeout=BOOT_LIMIT) != TIMEOUT:
		return False
	kept = q.rundir.with_name(q.rundir.name + '-hung-boot')
	shutil.rmtree(kept, ignore_errors=True)
	kept.mkdir(parents=True)
	# QEMU still runs: its run directory gets serial.log only at its end.
	q.save_serial(kept / 'serial.log')
	last = q.lines[-1].text if q.lines else '(no output)'
	common.log(f'{m.name}: the guest hung before its init (last line: {last!r}); booting it '
		   f'again (serial log kept in {kept})')
	return True


@contextmanager
def booted(machine: Machine) -> Iterator['Qemu']:
	"""A running QEMU of machine whose guest got to its init: booted once
	more if the first boot hung before it (boot_hung())."""
	with Qemu(machine) as q:
		if not boot_hung(q):
			yield q
			return
	with Qemu(machine) as q:
		yield q


def run(machine: Machine, until: Optional[Callable[[Qemu], bool]] = None,
	linger: float = 0.0) -> Outcome:
	"""Boot machine (see booted()), wait for its exit or until(), then
	linger seconds."""
	with booted(machine) as q:
		return _finish(q, until, linger)


def _finish(q: 'Qemu', until: Optional[Callable[['Qemu'], bool]], linger: float) -> Outcome:
	seen = q.wait(until)
	ended = seen == EXITED
	if seen == CONDITION and linger:
		ended = q.wait(timeout=q.now() + linger) == EXITED
	alive = q.qmp_alive()
	wall = q.now()
	q.kill()
	return Outcome(q.m, list(q.lines), list(q.events), exit_code(q, ended), seen == TIMEOUT,
		       q.cpu_seconds(), wall, q.rundir, alive, list(q.replies_at))


def exit_code(q: 'Qemu', ended: bool) -> Optional[int]:
	"""QEMU's exit status when the guest ended the run itself (QEMU exited,
	or shut down: see wait()); None when the harness stopped it, which
	kill() would otherwise turn into a status too."""
	return q.proc.returncode if ended else None
