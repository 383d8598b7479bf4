# SPDX-License-Identifier: GPL-2.0
"""Every prefix of the series must build: incremental builds of the x86_64
config after each patch, in a worktree of build/linux; and the files a
patch changes that the x86_64 guest config does not build (Hyper-V, the
PSP driver, other architectures) compiled at that patch in a config that
builds them."""

from dataclasses import dataclass
from pathlib import Path

from . import build, common
from .common import run, output

WORKTREE = common.BUILD / 'bisect'


@dataclass
class Step:
	commit: str
	subject: str


def steps(tree=common.KERNEL_TREE):
	"""base..HEAD of tree, oldest first."""
	text = output(['git', '-C', tree, 'log', '--reverse', '--format=%H %s', 'base..HEAD'])
	return [Step(*line.split(' ', 1)) for line in text.splitlines() if line]


def worktree(tree=common.KERNEL_TREE):
	"""A detached worktree of tree for bisect builds, created once."""
	if not (WORKTREE / '.git').exists():
		run(['git', '-C', tree, 'worktree', 'prune'])
		run(['git', '-C', tree, 'worktree', 'add', '-q', '--detach', WORKTREE, 'base'])
	return WORKTREE


def checkout(commit):
	run(['git', '-C', WORKTREE, 'checkout', '-q', '--detach', commit])


def changed_objects(commit):
	"""Objects of the .c files commit adds or changes."""
	names = output(['git', '-C', WORKTREE, 'diff-tree', '--no-commit-id', '--name-only', '-r',
			'--diff-filter=AM', commit])
	return [str(Path(n).with_suffix('.o')) for n in names.splitlines() if n.endswith('.c')]


def _builds(kernel, obj):
	"""Whether kernel, as built at HEAD, builds obj."""
	return obj in kernel.objects if kernel.objects else (kernel.out / obj).exists()


def elsewhere(objects, covered, others):
	"""[(kernel, its objects)] for the objects covered does not build, each
	given to the first of others that builds it; the rest are dropped
	(built by no config here)."""
	plan = {}
	for obj in objects:
		if _builds(covered, obj):
			continue
		k = next((k for k in others if _builds(k, obj)), None)
		if k:
			plan.setdefault(k.name, (k, []))[1].append(obj)
	return list(plan.values())


def compile_objects(kernel, objects):
	"""objects compiled in kernel's config from the bisect worktree."""
	k = build.Kernel(f'{kernel.name}-bisect', WORKTREE, kernel.fragments, arch=kernel.arch,
			 allow_undefined=True, objects=objects)
	build.build(k)
	return ' '.join(objects)
