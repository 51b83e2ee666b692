"""Hyperparameter sweeps and AutoML in the kernel, every trial a tracked child run.

The public entry points live in their modules and are re-exported by the package root:
`xt.sweep` and `xt.best` from `optimize.sweep`, `xt.automl` from `optimize.automl`,
`xt.jobs` from `optimize.jobs`. (They are not re-exported here: a function named like its
module would be replaced by the module as soon as the module is imported.) Optuna,
scikit-learn and torch are imported only when a search starts.
"""
