# SPDX-License-Identifier: GPL-2.0
"""What a check gets: the source, and the kernels and guest images it
needs, built on first use (each build reported as a check of its own,
once), so that running a subset of the checks builds only what they use.

Builds are one at a time (they share the build tree and both cores). While
checks that only run QEMU go on, a background thread may build, at the
lowest CPU priority, the kernels that later checks need (prebuild()): a
guest waiting out its panic= timeout leaves the cores to the compiler."""

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from . import common, guest, kernels, source
from .guest import Guest
from .kernels import Kernel
from .report import FAIL, PASS, Report, Result, Stages


class Unavailable(Exception):
	"""A kernel a check needs did not build."""


class Context:
	def __init__(self, report: Report, stages: Stages):
		self.report = report
		self.stages = stages
		self.kernels = kernels.catalogue()
		self.tree: Path = common.KERNEL_TREE
		self.src: Optional[source.Source] = None
		self._failed: dict[str, str] = {}
		self._built: set[str] = set()
		self._guests: dict[str, Guest] = {}
		# Locks: one per kernel or guest name, taken first; then the
		# build lock, which keeps builds one at a time.
		self._locks: dict[str, threading.Lock] = {}
		self._locks_lock = threading.Lock()
		self._build_lock = threading.Lock()
		self._image_lock = threading.Lock()     # guest images share /init builds

	def prepare_source(self) -> None:
		with self.stages.stage('packages, kernel source, build/linux'):
			common.ensure_packages()
			self.src = source.prepare_pristine()
			source.create_kernel_tree(self.src)
			# At build/linux's HEAD before any check reads it (kernel-doc,
			# KUnit): a rebase since the last build leaves it behind.
			source.checkout_build_tree('HEAD')

	def mark_built(self, name: str) -> None:
		"""name was built by other means (the bisect walk)."""
		self._built.add(name)

	def forget_built(self, name: str) -> None:
		"""name's output directory no longer holds what it was configured
		as: configure and build it again when next needed."""
		self._built.discard(name)
		(self.kernels[name].out / kernels.STAMP).unlink(missing_ok=True)

	def _lock(self, key: str) -> threading.Lock:
		with self._locks_lock:
			return self._locks.setdefault(key, threading.Lock())

	def kernel(self, name: str) -> Kernel:
		"""The kernel, built once; Unavailable if it does not build. A
		build already under way (in the background) is waited for."""
		k = self.kernels[name]
		with self._lock('kernel ' + name):
			if name in self._failed:
				raise Unavailable(f'needs {name}, which did not build: {self._failed[name]}')
			if name not in self._built:
				# Stage times of background builds overlap the checks'.
				stage = f'build {name}' + (' (in the background)' if kernels.backgrounded()
							   else '')
				with self._build_lock, self.stages.stage(stage):
					ok = self.report.check(f'build: {name}', kernels.build, k)
				if not ok:
					self._failed[name] = f'see build: {name} (log: {k.log})'
					raise Unavailable(f'needs {name}, which did not build (log: {k.log})')
				self._built.add(name)
		return k

	@contextmanager
	def prebuild(self, names: list[str]) -> Iterator[None]:
		"""Build names in the background, in order, at the lowest CPU
		priority, while the body runs; at its end, finish the build under
		way and stop. The body must leave the build tree alone (QEMU runs
		only); a kernel it needs is built at once or waited for."""
		stop = threading.Event()

		def builder() -> None:
			with kernels.in_background():
				for name in names:
					if stop.is_set():
						return
					try:
						self.kernel(name)
					except Unavailable:
						pass        # its checks fail, saying so

		thread = threading.Thread(target=builder, name='prebuild', daemon=True)
		thread.start()
		try:
			yield
		finally:
			stop.set()
			thread.join()

	def built(self, name: str) -> bool:
		return name in self._built

	def guest(self, name: str) -> Guest:
		"""The kernel and its boot image."""
		with self._lock('guest ' + name):
			if name not in self._guests:
				k = self.kernel(name)
				try:
					with self._image_lock:
						self._guests[name] = guest.build(k)
				except common.CommandError as e:
					self.report.add(Result(f'guest image: {name}', FAIL, str(e),
							       str(e.logfile)))
					self._failed[name] = 'its guest image did not build'
					raise Unavailable(f'needs the guest image of {name}, which did not build')
				self.report.add(Result(f'guest image: {name}', PASS))
			return self._guests[name]


def standalone(name: str) -> Context:
	"""A context for a command other than the test: its builds reported as
	they go, the source prepared."""
	ctx = Context(Report(name), Stages())
	ctx.prepare_source()
	return ctx
