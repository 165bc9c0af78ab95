"""Neural Networks Course Kit: release, validate, grade, check and export course notebooks."""
