# SPDX-License-Identifier: GPL-2.0
"""Every prefix of the series must build: incremental builds of the x86_64
config after each patch, in a worktree of build/linux."""

from dataclasses import dataclass

from . import common
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
