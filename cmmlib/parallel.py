r"""Data-parallel training with :mod:`jax.sharding`: a device mesh with one ``"data"`` axis.

A training step is a set of means over a batch: B data points, B Langevin particles, B conjugate
solves. On a :class:`~jax.sharding.Mesh` whose ``"data"`` axis holds D devices, the training
engine (:func:`cmmlib.training.run`) lays out its state so that

* the per-sample arrays of the state, the fields named in :data:`BATCH_FIELDS` (the Langevin
  ``particles``, shape ``(B, d)`` per model), are split along their batch axis: each device
  holds B/D rows, and the Langevin moves and conjugate solves that start from them run on those
  rows only;
* everything else -- parameters, optimiser states, PRNG keys, step counters, the data set -- is
  replicated on every device;

and XLA's SPMD partitioner (GSPMD, through ``jax.jit``'s sharding propagation) does the rest: a
mean over the batch becomes D partial sums and an all-reduce, so every device applies the same
averaged gradient and the parameters stay replicated. The operations are those of one device;
only sums are split and added in another order, so the parameters agree with a one-device run
from the same key up to float reassociation (random draws do not depend on the layout:
``jax_threefry_partitionable``, on by default). Arrays a learner draws afresh inside its step
(CMFGen's data minibatch, CMFMA's uniform points) are split by :func:`shard_batch`.

The engine takes the mesh from JAX's own context, so any training function runs data-parallel
unchanged::

    with jax.set_mesh(cmm.parallel.data_mesh()):      # all of jax.devices()
        model = cmm.cmfgen.fit(data, key)

Across hosts, each process first calls ``jax.distributed.initialize()``; ``jax.devices()`` then
lists the devices of every host and the same program runs over all of them (README).
"""
from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from . import validation

#: the mesh axis the batch is split along
AXIS = "data"
#: fields of a state (any ``NamedTuple`` in it) that hold one row per sample along their first axis
BATCH_FIELDS = ("particles",)


def data_mesh(devices: int | Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh ``("data",)`` over ``devices``: a count (the first ones of
    ``jax.devices()``), a list of devices, or ``None`` for all of ``jax.devices()`` (every
    host's, after ``jax.distributed.initialize``). Its axis is ``Auto``: shardings propagate."""
    available = jax.devices()
    if devices is None:
        chosen = available
    elif isinstance(devices, (int, np.integer)):
        n = validation.check_count(devices, "devices", 1)
        if n > len(available):
            raise ValueError(f"devices={n}, but JAX sees {len(available)} device(s): {available}")
        chosen = available[:n]
    else:
        chosen = list(devices)
        if not chosen:
            raise ValueError("devices must not be empty")
    return Mesh(np.asarray(chosen), (AXIS,), axis_types=(AxisType.Auto,))


def active_mesh() -> Mesh | None:
    """The mesh set by ``jax.set_mesh`` (``None`` when none is); it must have a ``"data"`` axis."""
    mesh = jax.sharding.get_mesh()
    if mesh.empty:
        return None
    if AXIS not in mesh.axis_names:
        raise ValueError(f"the mesh set by jax.set_mesh has axes {mesh.axis_names}; data-parallel training splits "
                         f"the batch along an axis named {AXIS!r} (see cmmlib.parallel.data_mesh)")
    return mesh


def n_shards(mesh: Mesh) -> int:
    """The number of pieces the batch is split into: the size of the mesh's ``"data"`` axis."""
    return int(mesh.shape[AXIS])


def partition_specs(tree: Any, leading: int = 0) -> Any:
    """``tree`` with each leaf replaced by its :class:`~jax.sharding.PartitionSpec`: split along
    axis ``leading`` for the leaves of :data:`BATCH_FIELDS` (``leading`` counts stacked axes
    before the batch, such as the engine's model axis), replicated for every other leaf."""
    split = PartitionSpec(*([None] * leading), AXIS)

    def specs(node: Any, batch: bool) -> Any:
        if hasattr(node, "_fields") and not batch:
            return type(node)(*(specs(getattr(node, f), f in BATCH_FIELDS) for f in node._fields))
        return jax.tree.map(lambda _: split if batch else PartitionSpec(), node)

    return specs(tree, False)


def check_divisible(shapes: Any, mesh: Mesh, leading: int = 0) -> None:
    """Raise ``ValueError`` unless every batch field of ``shapes`` (arrays or
    ``jax.ShapeDtypeStruct``) has a batch size divisible by :func:`n_shards`: each device gets
    an equal share."""
    n = n_shards(mesh)
    flat = jax.tree.leaves(partition_specs(shapes, leading), is_leaf=lambda s: isinstance(s, PartitionSpec))
    for leaf, spec in zip(jax.tree.leaves(shapes), flat):
        if len(spec) and leaf.shape[leading] % n:
            raise ValueError(f"data-parallel training splits the batch over the {n} devices of the mesh's "
                             f"{AXIS!r} axis: the batch size must be a multiple of {n}, got {leaf.shape[leading]}")


def shardings(tree: Any, mesh: Mesh, leading: int = 0) -> Any:
    """The :class:`~jax.sharding.NamedSharding` of each leaf of ``tree`` on ``mesh``
    (:func:`partition_specs`)."""
    return jax.tree.map(lambda spec: NamedSharding(mesh, spec), partition_specs(tree, leading),
                        is_leaf=lambda s: isinstance(s, PartitionSpec))


def place(tree: Any, mesh: Mesh, leading: int = 0) -> Any:
    """``tree`` put on the mesh with the layout of :func:`partition_specs` (``jax.device_put``)."""
    return jax.device_put(tree, shardings(tree, mesh, leading))


def constrain(tree: Any, mesh: Mesh) -> Any:
    """Inside ``jax.jit``: hold ``tree`` to the layout of :func:`partition_specs`
    (``jax.lax.with_sharding_constraint``), so the batch stays split and the parameters
    replicated from one step to the next. Under ``vmap`` the spec is that of one model."""
    return jax.lax.with_sharding_constraint(tree, shardings(tree, mesh, 0))


def shard_batch(x: jax.Array) -> jax.Array:
    """Inside ``jax.jit``: split ``x`` along its leading (batch) axis over the ``"data"`` axis of
    the mesh set by ``jax.set_mesh`` (``x`` unchanged without one). For the points a learner
    draws inside its step (CMFGen's minibatch of ρ, CMFMA's uniform points), which would
    otherwise be computed whole on every device. Under ``vmap`` the axis is that of one model."""
    mesh = jax.sharding.get_abstract_mesh()  # the one set by jax.set_mesh, seen from inside jit
    if mesh.empty or AXIS not in mesh.axis_names:
        return x
    return jax.lax.with_sharding_constraint(x, PartitionSpec(AXIS))


def replicate(tree: Any, mesh: Mesh) -> Any:
    """``tree`` gathered and replicated on every device of the mesh, so that every process can read
    it (a checkpoint), even when the mesh spans several hosts."""
    replicated = NamedSharding(mesh, PartitionSpec())
    return jax.device_put(tree, jax.tree.map(lambda _: replicated, tree))


def describe(mesh: Mesh) -> dict[str, Any]:
    """The mesh for a manifest: the number of devices along ``"data"``, their kinds and platform,
    and the number of processes (hosts) they belong to."""
    devices = list(mesh.devices.flat)
    return {"axis": AXIS, "devices": n_shards(mesh), "device_kinds": sorted({d.device_kind for d in devices}),
            "platform": devices[0].platform, "processes": len({d.process_index for d in devices})}


__all__ = ["AXIS", "BATCH_FIELDS", "data_mesh", "active_mesh", "n_shards", "partition_specs", "shardings",
           "check_divisible", "place", "constrain", "replicate", "describe"]
