"""The worked example of DESIGN.md: commitment $100,000, change order +$10,000, retainage 10%,
application #2 after #1 billed $29,000 with nothing stored."""

from decimal import Decimal as D

from paydraw.domain.contract import Contract, SovLine
from paydraw.domain.g702 import LineEntry, LineHistory
from paydraw.domain.retainage import RetainageRule

MOBILIZATION = SovLine("mobilization", "01", "Mobilization", D("5000"))
FRAMING = SovLine("framing", "02", "Framing", D("60000"))
WINDOWS = SovLine("windows", "03", "Windows", D("35000"))
CO1_BLOCKING = SovLine("co1-blocking", "04", "CO#1 blocking", D("0"), change_orders=D("10000"))

DESIGN_CONTRACT = Contract(
    lines=(MOBILIZATION, FRAMING, WINDOWS, CO1_BLOCKING),
    retainage=RetainageRule.flat(D("10")),
)

# Application #1 billed Mobilization in full and 24,000 of Framing.
FIRST_APPLICATION = {
    MOBILIZATION.id: LineEntry(work_this_period=D("5000")),
    FRAMING.id: LineEntry(work_this_period=D("24000")),
}

HISTORY_AFTER_FIRST = {
    MOBILIZATION.id: LineHistory(work_completed=D("5000"), retainage_held_work=D("500")),
    FRAMING.id: LineHistory(work_completed=D("24000"), retainage_held_work=D("2400")),
}

SECOND_APPLICATION = {
    FRAMING.id: LineEntry(work_this_period=D("18000")),
    WINDOWS.id: LineEntry(work_this_period=D("7000"), materials_stored=D("8000")),
    CO1_BLOCKING.id: LineEntry(work_this_period=D("2500")),
}

FIRST_CERTIFICATE = D("26100")
