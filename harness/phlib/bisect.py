# SPDX-License-Identifier: GPL-2.0
"""Every prefix of the series must build. The x86_64 guest is built at
base, then after each patch, incrementally in its own output directory, so
that the walk ends with the x86_64 kernel every later check uses; then the
files each patch changes that the x86_64 guest does not build are compiled
at that patch in the configurations that build them (the other
architectures, the modules kernel), and the files no configuration here
builds are reported as skipped, by name."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import common, kernels, source
from .common import output
from .context import Context
from .report import FAIL, PASS, Result, SKIP, Skipped

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
			ok = ctx.report.check(name, lambda last=last: _build_step(k, image=last))
		source.checkout_build_tree('HEAD')
	if ok:
		ctx.mark_built('x86_64')


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
	"""At each patch, the .c files it changes that x86_64 does not build,
	compiled in the first other configuration that builds them."""
	x86 = ctx.kernels['x86_64']
	others = [ctx.kernel(name) for name in OTHERS]
	# A compile at an earlier patch lets syncconfig drop the symbols that
	# patch does not know yet from each .config: put them back afterwards,
	# and have the next user of such a kernel build it again.
	configs = {k.name: (k.out / '.config').read_bytes() for k in others
		   if (k.out / '.config').exists()}
	with ctx.stages.stage('bisect: other configurations'):
		try:
			for step in steps():
				objects = [f[:-2] + '.o' for f in step.files if f.endswith('.c')]
				objects = [o for o in objects if not x86.builds(o)]
				if not objects:
					continue
				plan: dict[str, list[str]] = {}
				for o in objects:
					k = next((k for k in others if k.builds(o)), None)
					plan.setdefault(k.name if k else '', []).append(o)
				unbuilt = plan.pop('', [])
				if unbuilt:
					ctx.report.add(Result(f'bisect compile: {step.subject}', SKIP,
							      'built by no configuration here: ' +
							      ' '.join(unbuilt)))
				if not plan:
					continue
				source.checkout_build_tree(step.commit)
				for name, objs in plan.items():
					k = ctx.kernels[name]
					ctx.report.check(f'bisect compile: {step.subject} ({name})',
							 lambda k=k, objs=objs: _compile(k, objs))
		finally:
			source.checkout_build_tree('HEAD')
			for name, config in configs.items():
				k = ctx.kernels[name]
				if (k.out / '.config').read_bytes() != config:
					(k.out / '.config').write_bytes(config)
					ctx.forget_built(name)


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


def _compile(k: kernels.Kernel, objects: list[str]) -> str:
	"""Compile objects at the build tree's commit, but only those k's
	configuration builds at that commit: a symbol that selects one may come
	with a later patch (an architecture that opts in later)."""
	logfile = common.LOGS / f'bisect-{k.name}.log'
	kernels.make(k, 'olddefconfig', logfile=logfile)
	config = (k.out / '.config').read_text()
	unmet = {o: unmet_symbol(source.BUILD_TREE, config, o) for o in objects}
	build = [o for o in objects if not unmet[o]]
	if build:
		kernels.make(k, *build, logfile=logfile)
	said = ' '.join(Path(o).name for o in build)
	skipped = [f'{Path(o).name} ({unmet[o]} not set yet)' for o in objects if unmet[o]]
	if skipped and not build:
		raise Skipped('not built in this configuration at this patch: ' + ', '.join(skipped))
	return said + (f'; not built yet: {", ".join(skipped)}' if skipped else '')
