# SPDX-License-Identifier: GPL-2.0
"""What a panicked guest costs its host and how it ends, measured the same
way by the checks, the torture matrix and the benchmarks: the vCPU
threads' CPU time and wakeups over a window once the panic is done, and
the seconds from the panic to the reboot."""

import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Optional

from . import qemu, scenario
from .report import CheckFailed, expect

SETTLE = 1.0


@dataclass
class Quiet:
	"""Over a window after the guest reached its final state."""
	cpu: float            # seconds of host CPU of the vCPU threads
	wakeups: int          # their voluntary context switches
	window: float
	log: str

	@property
	def busy(self) -> float:
		"""Share of one host core the vCPUs used."""
		return self.cpu / self.window


def quiet(m: qemu.Machine, ready: str = '', window: float = 5.0) -> Quiet:
	"""Boot m, wait until the guest printed ready (by default: until its
	panic is done), then measure its vCPUs for window seconds. A guest
	that exits (powers off, reboots, faults) instead of staying is a
	failure, not a quiet guest."""
	with qemu.booted(m) as q:
		done = _seeing(ready) if ready else scenario.panic_done(m.platform)
		seen = q.wait(done, timeout=m.timeout)
		if seen != qemu.CONDITION:
			raise CheckFailed(f'the guest never got to "{ready or "the end of its panic"}" '
					  f'({seen})', q.rundir / 'serial.log')
		time.sleep(SETTLE)
		expect(q.alive(), 'QEMU exited before the window', q.rundir / 'serial.log')
		before = q.vcpus()
		time.sleep(window)
		after = q.vcpus()
		expect(q.alive(), f'QEMU exited during the window (exit code {q.proc.poll()}): '
		       'a guest that is gone is not a halted guest', q.rundir / 'serial.log')
		log = str(q.rundir / 'serial.log')
	return Quiet(after.cpu - before.cpu, after.wakeups - before.wakeups, window, log)


def _seeing(needle: str) -> Callable[[qemu.Qemu], bool]:
	return lambda q: q.seen(needle)


@dataclass
class Reboot:
	seconds: Optional[float]     # from "Rebooting in" to QEMU's exit; None: no reboot
	log: str


REBOOTING = 'Rebooting in'


def reboot_seconds(out: qemu.Outcome) -> Optional[float]:
	"""Host seconds from the start of the panic= wait to the reboot (QEMU
	runs with -no-reboot: a reboot is its exit); None without a reboot.
	The wait starts at panic()'s "Rebooting in N seconds.." line, after
	the other CPUs are stopped (which may take a second for one that
	keeps its interrupts off) and the notifiers ran: that is where panic=
	has always counted from. Where the console never shows that line
	(s390's SCLP console after the notifiers), from the panic line."""
	start = out.first(REBOOTING) or out.first(scenario.PANIC_LINE) or out.first('Kernel panic')
	if not start or out.timed_out or out.exit_code is None:
		return None
	# QEMU's SHUTDOWN event marks the reset itself; its exit comes after.
	end = next((e.t for e in out.events if e.name == 'SHUTDOWN' and e.t > start.t),
		   out.wall_seconds)
	return end - start.t


def reboot(m: qemu.Machine) -> Reboot:
	"""Boot m (panic=N set by the caller) and time its reboot."""
	out = qemu.run(m)
	return Reboot(reboot_seconds(out), str(out.serial))


def on_time(took: Optional[float], seconds: int) -> bool:
	"""panic=N reboots after N seconds, within 2 % and half a second."""
	return took is not None and abs(took - seconds) <= seconds * 0.02 + 0.5


def expect_reboot_on_time(r: Reboot, seconds: int) -> str:
	expect(r.seconds is not None, 'no reboot after the panic', Path(r.log))
	expect(on_time(r.seconds, seconds), f'rebooted {r.seconds:.2f} s after the panic, asked '
	       f'for {seconds} s (allowed: 2 % + 0.5 s)', Path(r.log))
	return f'rebooted {r.seconds:.2f} s after the panic (panic={seconds})'
