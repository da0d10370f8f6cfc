"""A constant-velocity Kalman filter on a box's centre and size."""

from __future__ import annotations

import numpy as np


def box_to_state(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = box[:4]
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dtype=np.float64)


def state_to_box(state: np.ndarray) -> np.ndarray:
    cx, cy, w, h = state[:4]
    w, h = max(w, 1.0), max(h, 1.0)
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float64)


class BoxKalman:
    """State ``[cx, cy, w, h, vcx, vcy, vw, vh]``, velocities per second.

    Noise scales with the box size, so a 20 px face and a 200 px face are
    tracked equally well.
    """

    def __init__(self, box: np.ndarray, timestamp: float) -> None:
        self.x = np.zeros(8)
        self.x[:4] = box_to_state(box)
        size = max(self.x[2], self.x[3])
        # Position as uncertain as a measurement; velocity unknown up to a few face widths a second.
        self.P = np.diag([0.05 * size] * 4 + [4 * size, 4 * size, 1 * size, 1 * size]) ** 2
        self.timestamp = timestamp

    def _transition(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        F = np.eye(8)
        F[:4, 4:] = np.eye(4) * dt
        size = max(self.x[2], self.x[3], 1.0)
        q_pos = (0.05 * size) ** 2 * max(dt, 1e-3)
        q_vel = (1.0 * size) ** 2 * max(dt, 1e-3)
        Q = np.diag([q_pos] * 4 + [q_vel] * 4)
        return F, Q

    def predict(self, timestamp: float) -> np.ndarray:
        """Advance to ``timestamp`` and return the predicted box."""
        dt = max(0.0, timestamp - self.timestamp)
        if dt > 0:
            F, Q = self._transition(dt)
            self.x = F @ self.x
            self.x[2:4] = np.maximum(self.x[2:4], 1.0)
            self.P = F @ self.P @ F.T + Q
            self.timestamp = timestamp
        return state_to_box(self.x)

    def peek(self, timestamp: float) -> np.ndarray:
        """The box predicted at ``timestamp`` without changing the filter."""
        dt = max(0.0, timestamp - self.timestamp)
        return state_to_box(self.x[:4] + self.x[4:] * dt)

    def update(self, box: np.ndarray) -> None:
        z = box_to_state(box)
        size = max(z[2], z[3], 1.0)
        R = np.eye(4) * (0.05 * size) ** 2
        H = np.zeros((4, 8))
        H[:, :4] = np.eye(4)
        innovation = z - H @ self.x
        S = H @ self.P @ H.T + R
        K = self.P @ H.T @ np.linalg.inv(S)
        self.x = self.x + K @ innovation
        self.P = (np.eye(8) - K @ H) @ self.P
