"""Talon.One achievements: the Management and Integration API paths the official SDK calls."""
