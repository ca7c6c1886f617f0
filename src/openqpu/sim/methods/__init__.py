"""Simulation methods for noisy circuits beyond statevector trajectories, and the choice
among them."""
