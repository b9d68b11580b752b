"""solvers/cpsat"""
