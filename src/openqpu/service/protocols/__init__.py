"""Other clouds' wire formats (pyqpanda3's qcloud, pyquafu) mapped onto openqpu jobs."""
