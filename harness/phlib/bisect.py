# SPDX-License-Identifier: GPL-2.0
"""Every prefix of the series must build. The x86_64 guest is built at
base, then after each patch, incrementally in its own output directory, so
that the walk ends with the x86_64 kernel every later check uses; then the
files each patch changes that the walk did not compile at that patch are
compiled there in the first configuration that builds them (the other
architectures, the modules kernel), and the files no configuration here
builds at that patch are reported as skipped, by name."""

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import common, kernels, source
from .common import output
from .context import Context
from .report import FAIL, PASS, Result, SKIP, expect

# Paths no x86_64 build reads: a patch that changes only these leaves the
# x86_64 prefix build as it was.
NOT_X86 = ('arch/arm64/', 'arch/riscv/', 'arch/powerpc/', 'arch/s390/', 'arch/arm/',
	   'Documentation/', 'tools/', 'MAINTAINERS')
# The other kernels that compile a patch's files, in order of preference.
OTHERS = ('x86_64-modules', 'i386', 'arm64', 'riscv64', 'ppc64le', 's390x', 'arm')


@dataclass
class Step:
	commit: str
	subject: str
	files: list[str]


def steps() -> list[Step]:
	"""base..HEAD of build/linux, oldest first, with the files each changes."""
	out = []
	text = output(['git', '-C', common.KERNEL_TREE, 'log', '--reverse', '--format=%H %s',
		       'base..HEAD'])
	for line in text.splitlines():
		commit, subject = line.split(' ', 1)
		files = output(['git', '-C', common.KERNEL_TREE, 'diff-tree', '--no-commit-id',
				'--name-only', '-r', '--diff-filter=AM', commit]).splitlines()
		out.append(Step(commit, subject, files))
	return out


def x86_relevant(step: Step) -> bool:
	return any(not f.startswith(NOT_X86) for f in step.files)


def walk(ctx: Context) -> None:
	"""x86_64 built at base and after each patch; the last is the kernel
	the checks use."""
	k = ctx.kernels['x86_64']
	k.log.parent.mkdir(parents=True, exist_ok=True)
	k.log.write_text('')
	with ctx.stages.stage('bisect: x86_64 at base and after each patch'):
		source.checkout_build_tree('base')
		ok = ctx.report.check('bisect build: base (x86_64)', lambda: _build_step(k, configure=True))
		compiled: dict[str, list[str]] = {}
		for i, step in enumerate(steps()):
			last = i == len(steps()) - 1
			name = f'bisect build: {step.subject} (x86_64)'
			if not ok:
				ctx.report.add(Result(name, FAIL, 'an earlier prefix did not build'))
				continue
			if not x86_relevant(step) and not last:
				ctx.report.add(Result(name, PASS, 'changes nothing the x86_64 build reads'))
				continue
			source.checkout_build_tree(step.commit)
			start = time.time()
			ok = ctx.report.check(name, lambda last=last: _build_step(k, image=last))
			compiled[step.commit] = [o for o in _objects(step) if _written_since(k.out / o, start)]
		source.checkout_build_tree('HEAD')
		_compiled_record(k).write_text(json.dumps(compiled))
	if ok:
		ctx.mark_built('x86_64')


def _objects(step: Step) -> list[str]:
	return [f[:-2] + '.o' for f in step.files if f.endswith('.c')]


def _written_since(path: Path, start: float) -> bool:
	# Whole seconds: some filesystems keep coarse times.
	return path.exists() and path.stat().st_mtime >= int(start)


def _compiled_record(x86: kernels.Kernel) -> Path:
	"""Which changed objects the walk compiled at each patch: what x86_64
	builds at HEAD says nothing of a patch where no symbol selects them."""
	return x86.out / 'bisect-compiled.json'


def _build_step(k: kernels.Kernel, configure: bool = False, image: bool = False) -> None:
	"""Build vmlinux at the build tree's commit. The walk configures at
	base, where the series' own symbols do not exist yet, and lets each
	step's syncconfig take the new ones at their defaults, as a user's
	upgrade would; the last step configures again from the fragments, so
	that the kernel the checks use is exactly the configured one."""
	if configure or image:
		kernels.configure(k, check_symbols=image)
	targets = kernels.targets_of(k) if image else ['vmlinux']
	kernels.make(k, *targets)


def compile_elsewhere(ctx: Context) -> None:
	"""At each patch, the .c files it changes that the x86_64 walk did not
	compile at that patch, compiled in the first other configuration that
	builds them at that patch; those none does are a counted SKIP, with
	each configuration's reason."""
	x86 = ctx.kernels['x86_64']
	record = _compiled_record(x86)
	# Without the walk's record, x86_64 counts as having compiled nothing.
	by_x86 = json.loads(record.read_text()) if record.exists() else {}
	others = [ctx.kernel(name) for name in OTHERS]
	# A compile at a patch lets olddefconfig drop the symbols that patch
	# does not know yet: each patch starts from the kernel's own .config,
	# which is put back at the end (and the kernel built again when next
	# needed, as its objects are now of another commit).
	configs = {k.name: (k.out / '.config').read_bytes() for k in others
		   if (k.out / '.config').exists()}
	with ctx.stages.stage('bisect: other configurations'):
		try:
			for step in steps():
				objects = [o for o in _objects(step) if o not in by_x86.get(step.commit, [])]
				if objects:
					_compile_step(ctx, step, objects, others, configs)
		finally:
			source.checkout_build_tree('HEAD')
			for name, config in configs.items():
				k = ctx.kernels[name]
				if (k.out / '.config').read_bytes() != config:
					(k.out / '.config').write_bytes(config)
					ctx.forget_built(name)


def _compile_step(ctx: Context, step: Step, objects: list[str], others: list[kernels.Kernel],
		  configs: dict[str, bytes]) -> None:
	candidates = {o: [k for k in others if k.builds(o)] for o in objects}
	why_not: dict[str, list[str]] = {o: [] for o in objects if not candidates[o]}
	plan: dict[str, list[str]] = {}
	if len(why_not) < len(objects):
		source.checkout_build_tree(step.commit)
		config_now: dict[str, str] = {}
		for o in objects:
			reasons = []
			for k in candidates[o]:
				if k.name not in config_now:
					config_now[k.name] = _configure_at(k, configs.get(k.name))
				unmet = unmet_symbol(source.BUILD_TREE, config_now[k.name], o)
				if not unmet:
					plan.setdefault(k.name, []).append(o)
					break
				reasons.append(f'{unmet} not set in {k.name}')
			else:
				why_not[o] = reasons
	for name, objs in plan.items():
		k = ctx.kernels[name]
		ctx.report.check(f'bisect compile: {step.subject} ({name})',
				 lambda k=k, objs=objs: _compile(k, objs))
	if why_not:
		ctx.report.add(Result(f'bisect compile: {step.subject}', SKIP,
				      'built by no configuration here at this patch: ' + '; '.join(
					      o + (f' ({", ".join(r)})' if r else '')
					      for o, r in why_not.items())))


def unmet_symbol(tree: Path, config: str, obj: str) -> Optional[str]:
	"""The CONFIG_ symbol that the Makefile next to obj builds it under,
	when config (a .config's text) does not set it; None when obj is built
	unconditionally or its symbol is set."""
	makefile = tree / Path(obj).parent / 'Makefile'
	if not makefile.exists():
		return None
	name = re.escape(Path(obj).name)
	m = re.search(rf'^obj-\$\((CONFIG_\w+)\)\s*[+:]?=.*\b{name}\b', makefile.read_text(), re.M)
	if not m:
		return None
	return None if re.search(rf'^{m.group(1)}=[ym]$', config, re.M) else m.group(1)


def _configure_at(k: kernels.Kernel, saved: Optional[bytes]) -> str:
	"""k's own .config, as olddefconfig makes it at the build tree's
	commit: its text."""
	if saved is not None:
		(k.out / '.config').write_bytes(saved)
	kernels.make(k, 'olddefconfig', logfile=common.LOGS / f'bisect-{k.name}.log')
	return (k.out / '.config').read_text()


def _compile(k: kernels.Kernel, objects: list[str]) -> str:
	"""Compile objects at the build tree's commit. A make that exits 0
	without writing an object (a directory the configuration does not
	enter) is not a compile: each object is removed first and must exist
	after."""
	for o in objects:
		(k.out / o).unlink(missing_ok=True)
	kernels.make(k, *objects, logfile=common.LOGS / f'bisect-{k.name}.log')
	missing = [o for o in objects if not (k.out / o).exists()]
	expect(not missing, 'make exited 0 but did not write ' + ' '.join(missing),
	       common.LOGS / f'bisect-{k.name}.log')
	return ' '.join(Path(o).name for o in objects)
