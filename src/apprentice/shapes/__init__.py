"""Shapes → JSON Schema, repair, validation and prompts."""

from apprentice.shapes.schema import Shape, compile_shape, load_shape
from apprentice.shapes.validate import ValidationIssue, validate

__all__ = ["Shape", "ValidationIssue", "compile_shape", "load_shape", "validate"]
