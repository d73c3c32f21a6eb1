"""Job priority scoring for the Fieldnote scheduler.

The optimiser assigns jobs in order of priority score, highest first, every 90 seconds per region.
The score decides who waits when there are more jobs than technicians, so it is deliberately simple
and explainable: dispatchers can see each part of it in the job's "Why this order?" panel.

Owner: Scheduling team. Weights were last tuned on 2026-01-19 against six weeks of jobs from the
14 route-optimisation beta customers (see PLAT-1187).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


class JobKind(Enum):
    EMERGENCY = "emergency"  # no heating in winter, gas smell, flooding, no power
    REPAIR = "repair"
    SERVICE = "service"  # planned maintenance, e.g. annual boiler service
    INSTALLATION = "installation"


# Base points per kind. An emergency starts at least 700 points ahead of any other kind: more than a
# missed window (400) and a vulnerable customer (200) together, so it almost always goes first.
BASE_POINTS = {
    JobKind.EMERGENCY: 1_000,
    JobKind.REPAIR: 300,
    JobKind.SERVICE: 100,
    JobKind.INSTALLATION: 150,
}

SLA_AT_RISK_WINDOW = timedelta(hours=2)
SLA_AT_RISK_POINTS = 250  # the job's promised window closes within two hours
SLA_BREACHED_POINTS = 400  # already late: the customer is waiting now
VULNERABLE_CUSTOMER_POINTS = 200  # elderly, disabled or with small children, as flagged on the site
TRAVEL_PENALTY_PER_MINUTE = 1.5  # prefer jobs close to free technicians, but only mildly
WAITING_POINTS_PER_DAY = 20  # planned work that keeps slipping gradually rises in priority
MAX_WAITING_POINTS = 200


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    kind: JobKind
    created_at: datetime
    window_end: datetime
    vulnerable_customer: bool = False
    contract_priority: int = 0  # 0-3 from the customer's service contract (Enterprise plans use it)


def priority_score(job: Job, now: datetime, travel_minutes: float) -> float:
    """The job's priority; higher is assigned first.

    `travel_minutes` is the driving time from the nearest free technician with the right skills,
    as estimated by the routing service. Scores are comparable only within one region and run.
    """
    score = float(BASE_POINTS[job.kind])
    if now > job.window_end:
        score += SLA_BREACHED_POINTS
    elif job.window_end - now <= SLA_AT_RISK_WINDOW:
        score += SLA_AT_RISK_POINTS
    if job.vulnerable_customer:
        score += VULNERABLE_CUSTOMER_POINTS
    waited_days = max(0, (now - job.created_at).days)
    score += min(MAX_WAITING_POINTS, waited_days * WAITING_POINTS_PER_DAY)
    score += 50 * job.contract_priority
    # Travel is a tie-breaker, not a veto: a 60-minute drive costs 90 points, less than an SLA risk.
    score -= TRAVEL_PENALTY_PER_MINUTE * max(0.0, travel_minutes)
    return score


def explain(job: Job, now: datetime, travel_minutes: float) -> list[str]:
    """The lines shown in the dispatcher's "Why this order?" panel, in the order they are added."""
    lines = [f"{job.kind.value}: {BASE_POINTS[job.kind]} points"]
    if now > job.window_end:
        lines.append(f"window missed: +{SLA_BREACHED_POINTS}")
    elif job.window_end - now <= SLA_AT_RISK_WINDOW:
        lines.append(f"window closes within 2 hours: +{SLA_AT_RISK_POINTS}")
    if job.vulnerable_customer:
        lines.append(f"vulnerable customer: +{VULNERABLE_CUSTOMER_POINTS}")
    waited_days = max(0, (now - job.created_at).days)
    if waited_days:
        waiting_points = min(MAX_WAITING_POINTS, waited_days * WAITING_POINTS_PER_DAY)
        lines.append(f"waiting {waited_days} days: +{waiting_points}")
    if job.contract_priority:
        lines.append(f"contract priority {job.contract_priority}: +{50 * job.contract_priority}")
    lines.append(f"{travel_minutes:.0f} min travel: -{TRAVEL_PENALTY_PER_MINUTE * travel_minutes:.0f}")
    return lines
