"""Build the three Riverbend Health example policies that ship as a .docx and two PDFs.

Run with the project's virtual environment (python-docx and fpdf2 must be installed):

    .venv/bin/pip install fpdf2
    .venv/bin/python corpus/build_examples.py

The policy texts live in this file. The output is deterministic: fixed dates in the document metadata and
fixed timestamps inside the .docx archive, so running the script twice writes byte-identical files.

Each policy is a list of blocks:
    ("h2", text)         a numbered or plain section heading
    ("h3", text)         a subsection heading
    ("p", text)          a body paragraph
    ("bullets", [...])   a bulleted list (the lead-in sentence is the "p" block before it)
    ("numbers", [...])   a numbered list (.docx only; the PDFs number their sections instead)
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ORG = "Riverbend Health"
NOTE = (
    "Illustrative example policy shipped with CMO Assistant. Replace it with your organization's own policy."
)
HERE = Path(__file__).resolve().parent
OUT = HERE / "policies"
FIXED_DATE = datetime(2025, 9, 1, 8, 0, 0, tzinfo=UTC)

# --------------------------------------------------------------------------------------------------------------
# OC-701 Physician On-Call Coverage and Compensation (.docx)
# --------------------------------------------------------------------------------------------------------------

OC701_FILE = "oc-701-physician-on-call-coverage.docx"
OC701_TITLE = "Physician On-Call Coverage and Compensation"
OC701_META = (
    "Policy number: OC-701 | Owner: Chief Medical Officer | Effective date: 2025-09-01 | "
    "Review date: 2027-09-01 | Version: 1.2"
)
OC701 = [
    ("h2", "Purpose"),
    (
        "p",
        "This policy sets the rules for physician on-call coverage at Riverbend Health and for the stipends "
        "paid for on-call duty.",
    ),
    (
        "p",
        "Reliable on-call coverage makes sure that patients who need a specialist outside regular clinic hours "
        "are seen in time, and that the burden of call is shared fairly among physicians.",
    ),
    ("h2", "Scope"),
    (
        "p",
        "This policy applies to every physician and advanced practice provider who holds clinical privileges "
        "at a Riverbend Health hospital and takes part in a department on-call schedule.",
    ),
    (
        "p",
        "It does not apply to hospitalists, emergency physicians or intensivists who work scheduled in-house "
        "shifts, because their pay is set by their employment agreements.",
    ),
    ("h2", "Definitions"),
    ("p", "The following terms are used in this policy:"),
    (
        "bullets",
        [
            "Weeknight call: the duty period from 17:00 on a weekday to 07:00 the next morning, Monday through "
            "Thursday.",
            "Weekend call: the duty period from Friday 17:00 to Monday 07:00.",
            "Holiday call: the duty period from 07:00 on a recognized holiday to 07:00 the following day.",
            "Recognized holidays: New Year's Day, Memorial Day, Independence Day, Labor Day, Thanksgiving Day and "
            "Christmas Day.",
            "Backup call: a duty period during which a second physician responds when the primary on-call physician "
            "cannot be reached or is already caring for another patient.",
            "Clinic telephone call: after-hours telephone advice to the physician's own outpatient clinic patients, "
            "without any hospital duty.",
            "Call panel: the group of physicians in a specialty who share that specialty's on-call schedule.",
            "Call-in: an occasion on which the on-call physician comes to the hospital to see a patient in person.",
        ],
    ),
    ("h2", "Policy"),
    (
        "numbers",
        [
            "Each clinical department keeps a call panel and publishes an on-call schedule that covers every hour "
            "of every day of the year.",
            "Call is shared among the physicians on a call panel in proportion to each physician's clinical "
            "full-time equivalent (FTE), unless the department chair approves a different arrangement.",
            "A physician who is 60 years of age or older, or who has served on the medical staff for at least 25 "
            "years, may ask the department chair to be excused from weeknight call, but remains responsible for a "
            "share of weekend and holiday call.",
            "The on-call physician must answer pages and phone calls throughout the duty period and must be able to "
            "arrive at the hospital within 30 minutes when in-person care is needed.",
            "The on-call physician may not refuse to see an emergency department patient because of the patient's "
            "insurance status or ability to pay, as required by the Emergency Medical Treatment and Labor Act "
            "(EMTALA).",
            "No physician is scheduled for more than 7 consecutive days of call without the physician's written "
            "agreement.",
        ],
    ),
    ("h2", "Procedure"),
    ("h3", "Publishing the schedule"),
    (
        "numbers",
        [
            "The department scheduler publishes each month's on-call schedule at least 60 days before the month "
            "begins.",
            "The schedule names a primary on-call physician and a backup physician for every duty period.",
            "The hospital operator and the emergency department receive every change to the schedule as soon as it "
            "is made.",
        ],
    ),
    ("h3", "Response times by call tier"),
    (
        "p",
        "The clinician who requests a consultation assigns one of three tiers, and the on-call physician must "
        "respond within these times:",
    ),
    (
        "bullets",
        [
            "Tier 1 (emergent): return the call within 10 minutes and arrive at the bedside within 30 minutes.",
            "Tier 2 (urgent): return the call within 20 minutes and see the patient within 2 hours.",
            "Tier 3 (routine): return the call within 30 minutes and see the patient before 12:00 the next day.",
        ],
    ),
    (
        "p",
        "If the on-call physician does not return a call within the required time, the requesting clinician "
        "calls the backup physician and then the department chair.",
    ),
    (
        "p",
        "The department chair reviews every missed Tier 1 response time within 14 days and may refer it for "
        "peer review under policy QM-201.",
    ),
    ("h3", "Stipends"),
    ("p", "Riverbend Health pays the following stipends for each duty period that a physician covers:"),
    (
        "bullets",
        [
            "Weeknight call: $600 per night.",
            "Weekend call: $2,400 for the full weekend.",
            "Holiday call: $1,000 per holiday, paid on top of the weekend call stipend when a holiday falls on a "
            "weekend.",
            "Backup call: $250 per duty period.",
        ],
    ),
    (
        "p",
        "Clinic telephone call earns no stipend, because it is part of each clinic physician's regular duties "
        "and is included in base compensation.",
    ),
    (
        "p",
        "A physician who is called in also receives an activation payment of $150 for each in-person patient "
        "encounter, up to $600 per duty period.",
    ),
    (
        "p",
        "Stipends are paid only for duty periods that the physician actually covers; a physician who trades a "
        "shift away is not paid for it.",
    ),
    (
        "p",
        "Stipends are paid through payroll in the month after the duty is worked, based on the final schedule "
        "that the department scheduler submits by the fifth business day of the month.",
    ),
    ("h3", "Rest after a night call-in"),
    (
        "p",
        "A physician who is called in to the hospital between 23:00 and 05:00 during weeknight call may cancel "
        "or reschedule elective clinic and surgical cases before 12:00 the next day without loss of pay.",
    ),
    ("p", "The department chair and the clinic manager arrange coverage or rescheduling for those patients."),
    ("h3", "Trades and unavailability"),
    (
        "numbers",
        [
            "A physician may trade a call shift with another physician on the same call panel who holds the same "
            "privileges.",
            "The physician who gives up the shift records the trade with the department scheduler at least 48 "
            "hours before the duty period starts.",
            "A physician who becomes ill or has an emergency during a duty period notifies the backup physician and "
            "the department chair at once, and the department chair arranges replacement coverage.",
            "A physician on an approved leave of absence under policy ML-901 is removed from the call schedule for "
            "the length of the leave.",
        ],
    ),
    ("h2", "Roles and Responsibilities"),
    (
        "bullets",
        [
            "Chief Medical Officer: owns this policy, decides call disputes that a department chair cannot resolve, "
            "and reviews stipend rates each year with the Chief Financial Officer (CFO).",
            "Chief Executive Officer (CEO): approves the annual stipend rates.",
            "Department chairs: keep call panels complete, approve exemptions and review missed response times.",
            "Department schedulers: publish schedules, record trades and submit the final schedule to payroll.",
            "On-call physicians: respond within the tier response times and document each consultation in the "
            "medical record.",
        ],
    ),
    ("h2", "Related Policies"),
    (
        "bullets",
        [
            "ML-901 Medical Staff Leave of Absence and Return to Practice",
            "CE-801 Escalation of Clinical Concerns (Chain of Command)",
            "QM-201 Peer Review and Professional Practice Evaluation",
            "MS-101 Medical Staff Credentialing and Privileging",
        ],
    ),
    ("h2", "Revision History"),
    (
        "bullets",
        [
            "Version 1.2 (2025-09-01): Raised the weekend call stipend from $2,000 to $2,400 and added the "
            "activation payment.",
            "Version 1.1 (2024-01-01): Added the weeknight call exemption at age 60 or after 25 years of service.",
            "Version 1.0 (2022-09-01): Initial policy approved by the Medical Executive Committee.",
        ],
    ),
]

# --------------------------------------------------------------------------------------------------------------
# CE-801 Escalation of Clinical Concerns (Chain of Command) (PDF)
# --------------------------------------------------------------------------------------------------------------

CE801_FILE = "ce-801-escalation-of-clinical-concerns.pdf"
CE801_TITLE = "Escalation of Clinical Concerns (Chain of Command)"
CE801_META = (
    "Policy number: CE-801 | Owner: Chief Medical Officer | Effective date: 2025-09-01 | "
    "Review date: 2027-09-01 | Version: 1.1"
)
CE801 = [
    ("h2", "1. Purpose"),
    (
        "p",
        "This policy gives every member of the care team a clear and safe path to raise a concern about a "
        "patient's care when the concern has not been resolved with the responsible practitioner.",
    ),
    (
        "p",
        "It names who is contacted at each level of the chain of command, how quickly each person must "
        "respond, and when the Board of Directors is told.",
    ),
    (
        "p",
        "Riverbend Health expects staff to speak up, and treats escalation as a normal part of safe patient "
        "care rather than as a complaint about a colleague.",
    ),
    ("h2", "2. Scope"),
    (
        "p",
        "This policy applies to all employees, medical staff members, residents, students and contracted "
        "staff in every Riverbend Health hospital, clinic and community setting.",
    ),
    (
        "p",
        "It covers concerns about a patient's condition, orders, plan of care or safety, and about the "
        "behavior of a member of the care team toward a patient.",
    ),
    (
        "p",
        "This policy does not replace the rapid response team or a code call; when a patient's condition is "
        "deteriorating, staff call the rapid response team first and escalate afterward.",
    ),
    ("h2", "3. Definitions"),
    (
        "bullets",
        [
            "Clinical concern: a worry or disagreement about a patient's care that, if not resolved, could harm the "
            "patient.",
            "Responsible practitioner: the attending physician or advanced practice provider who is responsible for "
            "the patient's care at the time of the concern.",
            "Chain of command: the sequence of leaders, from Level 1 to Level 4, whom staff contact to resolve a "
            "clinical concern.",
            "Administrator on call (AOC): the senior leader assigned to handle urgent administrative issues outside "
            "business hours.",
            "Escalation log: the electronic form on which each contact, time and response during an escalation is "
            "recorded.",
        ],
    ),
    ("h2", "4. Escalation Levels"),
    ("p", "Staff move up the chain of command one level at a time until the concern is resolved."),
    ("p", "Examples of concerns that should be escalated include:"),
    (
        "bullets",
        [
            "an order that appears unsafe or outside accepted practice;",
            "a practitioner who does not come to assess a patient whose condition is worsening;",
            "a disagreement about whether a patient is ready for discharge or transfer;",
            "a practitioner who appears impaired or unable to provide safe care.",
        ],
    ),
    ("p", "Each response time below is measured from the first attempt to reach the person at that level."),
    (
        "p",
        "When a patient is in immediate danger, staff may skip any level and contact the next available "
        "leader directly, including the Chief Medical Officer (CMO).",
    ),
    ("h3", "4.1 Level 1: Responsible Practitioner"),
    (
        "p",
        "The staff member raises the concern directly with the responsible practitioner, and a nurse who "
        "raises a concern also informs the charge nurse.",
    ),
    ("p", "The responsible practitioner must respond within 15 minutes."),
    (
        "p",
        "If the practitioner does not respond within 15 minutes, or the concern is not resolved, the staff "
        "member moves to Level 2.",
    ),
    ("h3", "4.2 Level 2: Unit and Section Leadership"),
    (
        "p",
        "At Level 2, the charge nurse contacts the nurse manager, or the house supervisor outside business "
        "hours, and the section chief of the responsible practitioner's specialty.",
    ),
    ("p", "The Level 2 leader must respond within 30 minutes."),
    (
        "p",
        "The section chief may talk with the responsible practitioner, see the patient, or ask another "
        "practitioner to give a second opinion.",
    ),
    ("h3", "4.3 Level 3: Department Chair and Administrator on Call"),
    (
        "p",
        "At Level 3, the nurse manager or house supervisor contacts the department chair and, outside "
        "business hours, the administrator on call.",
    ),
    ("p", "The Level 3 leader must respond within 45 minutes."),
    (
        "p",
        "The department chair may transfer the patient's care to another practitioner with the same "
        "privileges.",
    ),
    ("h3", "4.4 Level 4: Chief Medical Officer"),
    (
        "p",
        "At Level 4, the department chair or administrator on call contacts the CMO, or the CMO's designee "
        "when the CMO cannot be reached.",
    ),
    ("p", "The CMO must respond within 1 hour."),
    (
        "p",
        "The CMO makes the final decision on the patient's plan of care, and that decision is followed while "
        "any remaining disagreement is reviewed.",
    ),
    (
        "p",
        "If the concern involves nursing practice, the CMO involves the Chief Nursing Officer (CNO) in the "
        "decision.",
    ),
    ("h2", "5. Board of Directors Notification"),
    ("p", "The CMO informs the Chief Executive Officer (CEO) of every Level 4 escalation within 24 hours."),
    (
        "p",
        "The CMO notifies the chair of the Quality Committee of the Board of Directors within 72 hours when a "
        "Level 4 escalation involves death or severe harm to a patient, or a practitioner whose privileges "
        "may need to be restricted.",
    ),
    (
        "p",
        "The CMO presents a summary of all Level 3 and Level 4 escalations to the Board of Directors every "
        "quarter.",
    ),
    ("p", "Members of the Board of Directors do not take part in resolving an individual escalation."),
    ("h2", "6. Documentation and Follow-up"),
    (
        "p",
        "The staff member who starts an escalation records every contact, time and response in the "
        "escalation log before the end of the shift.",
    ),
    (
        "p",
        "If the concern involved harm or a near miss, the staff member also files an event report within 24 "
        "hours under policy PS-301.",
    ),
    ("p", "The nurse manager reviews every escalation from the unit within 7 days."),
    (
        "p",
        "The staff member who escalated receives feedback on the outcome from the unit leader within 10 "
        "business days.",
    ),
    ("p", "The Patient Safety Committee reviews escalation trends every quarter."),
    (
        "p",
        "A practitioner who repeatedly fails to respond within the Level 1 response time is referred to the "
        "department chair for review under policy QM-201.",
    ),
    ("h2", "7. Protection from Retaliation"),
    (
        "p",
        "No staff member will be disciplined or retaliated against for escalating a clinical concern in good "
        "faith.",
    ),
    (
        "p",
        "A staff member who believes they have been retaliated against may report it to Human Resources, to "
        "the Compliance Hotline, or directly to the CMO.",
    ),
    (
        "p",
        "Human Resources investigates each report of retaliation and gives the reporter a written response "
        "within 30 days.",
    ),
    (
        "p",
        "Disrespectful or intimidating behavior toward a staff member who escalates a concern is reviewed "
        "under the medical staff code of conduct.",
    ),
    ("h2", "8. Training"),
    (
        "p",
        "Every new employee and medical staff member completes chain of command training during orientation.",
    ),
    ("p", "Refresher training is completed every 2 years through the learning management system."),
    ("h2", "9. Roles and Responsibilities"),
    (
        "bullets",
        [
            "Chief Medical Officer: acts as Level 4 of the chain of command, informs the CEO and the Board of "
            "Directors, and owns this policy.",
            "Chief Nursing Officer: joins Level 4 decisions that involve nursing practice and supports nurses who "
            "escalate concerns.",
            "Section chiefs and department chairs: respond at Levels 2 and 3 and review practitioners who do not "
            "respond.",
            "Nurse managers and house supervisors: respond at Level 2, start Level 3 and review escalation logs.",
            "Administrator on call: responds at Level 3 outside business hours.",
            "All staff: speak up, follow the chain of command and document each escalation.",
        ],
    ),
    ("h2", "10. Related Policies"),
    (
        "bullets",
        [
            "PS-301 Patient Safety Event Reporting",
            "QM-201 Peer Review and Professional Practice Evaluation",
            "OC-701 Physician On-Call Coverage and Compensation",
        ],
    ),
    ("h2", "11. Revision History"),
    (
        "bullets",
        [
            "Version 1.1 (2025-09-01): Added the 72-hour notice to the chair of the Quality Committee of the Board "
            "of Directors and shortened the Level 3 response time from 1 hour to 45 minutes.",
            "Version 1.0 (2023-09-01): Initial policy approved by the Medical Executive Committee.",
        ],
    ),
]

# --------------------------------------------------------------------------------------------------------------
# ML-901 Medical Staff Leave of Absence and Return to Practice (PDF)
# --------------------------------------------------------------------------------------------------------------

ML901_FILE = "ml-901-medical-staff-leave-of-absence.pdf"
ML901_TITLE = "Medical Staff Leave of Absence and Return to Practice"
ML901_META = (
    "Policy number: ML-901 | Owner: Chief Medical Officer | Effective date: 2025-09-01 | "
    "Review date: 2027-09-01 | Version: 1.1"
)
ML901 = [
    ("h2", "1. Purpose"),
    (
        "p",
        "This policy explains how a member of the medical staff requests a leave of absence from clinical "
        "practice and how the member returns to practice safely.",
    ),
    (
        "p",
        "A clear process protects patients, supports practitioners through illness and major life events, "
        "and keeps credentials files accurate.",
    ),
    ("h2", "2. Scope"),
    (
        "p",
        "This policy applies to all physicians, dentists, podiatrists, advanced practice registered nurses "
        "and physician assistants who hold medical staff membership or clinical privileges at Riverbend "
        "Health.",
    ),
    (
        "p",
        "It covers leave from medical staff membership and clinical privileges, whether the practitioner is "
        "employed, contracted or independent.",
    ),
    ("h2", "3. Definitions"),
    (
        "bullets",
        [
            "Leave of absence: an approved period during which a practitioner's medical staff membership continues "
            "but the practitioner may not exercise clinical privileges.",
            "Planned leave: a leave that the practitioner knows about at least 30 days in advance.",
            "Unplanned leave: a leave that starts with less than 30 days' notice because of a sudden illness, "
            "injury or family emergency.",
            "Medical leave: a leave for the practitioner's own health condition, including treatment for a "
            "substance use or mental health condition.",
            "Practitioner Health Committee: the confidential medical staff committee that supports practitioner "
            "health and reviews fitness for duty.",
            "Fitness-for-duty letter: a letter from a treating clinician stating that the practitioner can safely "
            "exercise the privileges requested.",
        ],
    ),
    ("h2", "4. Reasons for Leave"),
    ("p", "A practitioner may request a leave of absence for any of these reasons:"),
    (
        "bullets",
        [
            "the practitioner's own illness, injury or medical treatment;",
            "the birth, adoption or foster placement of a child;",
            "the care of a family member with a serious health condition;",
            "military service;",
            "full-time academic study, research or a sabbatical;",
            "other personal reasons accepted by the department chair.",
        ],
    ),
    (
        "p",
        "A practitioner does not have to disclose a diagnosis to request a medical leave; a statement that "
        "the leave is for health reasons is enough.",
    ),
    ("h2", "5. Requesting Leave"),
    ("h3", "5.1 Planned Leave"),
    (
        "p",
        "The practitioner sends a written request to the department chair at least 30 days before the leave "
        "starts.",
    ),
    (
        "p",
        "The request states the reason for the leave in general terms, the expected start and end dates, and "
        "how the practitioner's patients and on-call shifts will be covered.",
    ),
    (
        "p",
        "The department chair forwards the request with a recommendation to the Chief Medical Officer (CMO) "
        "within 7 days.",
    ),
    (
        "p",
        "The CMO approves or denies the request, and the Medical Staff Office confirms the decision to the "
        "practitioner in writing within 5 business days.",
    ),
    ("h3", "5.2 Unplanned Leave"),
    (
        "p",
        "When a sudden illness, injury or family emergency makes 30 days' notice impossible, the "
        "practitioner, or a family member on the practitioner's behalf, tells the department chair as soon "
        "as possible.",
    ),
    (
        "p",
        "The department chair arranges coverage for the practitioner's patients and on-call shifts under "
        "policy OC-701.",
    ),
    ("p", "The written leave request is completed within 14 days after the leave starts."),
    ("h2", "6. Length of Leave and Effect on Membership"),
    ("p", "A leave of absence is approved for up to 12 months at a time."),
    ("p", "The Medical Executive Committee (MEC) may extend a leave once, for up to 12 more months."),
    (
        "p",
        "A practitioner whose leave lasts longer than 24 months in total must reapply for membership and "
        "privileges as a new applicant under policy MS-101.",
    ),
    ("p", "Time spent on leave for active military service does not count toward the 24-month limit."),
    (
        "p",
        "During a leave, the practitioner may not exercise clinical privileges and is removed from the "
        "on-call schedule.",
    ),
    (
        "p",
        "A leave does not stop the reappointment cycle; if the appointment expires during the leave, the "
        "practitioner must complete reappointment before privileges are reinstated.",
    ),
    ("p", "Medical staff dues are waived for any leave that lasts longer than 90 days."),
    ("p", "Practitioners on leave are excused from committee meeting attendance requirements."),
    (
        "p",
        "The practitioner must tell the Medical Staff Office within 5 business days if the practitioner's "
        "license, DEA registration or board certification lapses during the leave.",
    ),
    ("h2", "7. Returning to Practice"),
    ("h3", "7.1 Request to Return"),
    (
        "p",
        "After a leave longer than 30 days, the practitioner sends a written request to return to the "
        "department chair at least 14 days before the planned return date.",
    ),
    (
        "p",
        "A practitioner returning from a leave of 30 days or less, other than a medical leave, only needs to "
        "tell the department chair the return date.",
    ),
    (
        "p",
        "The request to return confirms that the practitioner's license, DEA registration and board "
        "certification are current and describes any clinical work done during the leave.",
    ),
    ("h3", "7.2 Return from Medical Leave"),
    (
        "p",
        "A practitioner returning from a medical leave of any length provides a fitness-for-duty letter from "
        "the treating clinician.",
    ),
    (
        "p",
        "The Practitioner Health Committee reviews the letter within 10 business days and may ask for an "
        "independent evaluation by a clinician it chooses, at no cost to the practitioner.",
    ),
    (
        "p",
        "The committee may recommend conditions on return, such as a reduced schedule, monitoring or a limit "
        "on certain privileges.",
    ),
    (
        "p",
        "Health information is kept in a confidential file in the Medical Staff Office and is never placed in "
        "the credentials file.",
    ),
    ("h3", "7.3 Decision on Reinstatement"),
    (
        "p",
        "The department chair sends a recommendation on reinstatement to the CMO within 10 business days of "
        "receiving a complete request to return.",
    ),
    (
        "p",
        "The CMO decides on reinstatement after a leave of up to 12 months, and the MEC decides after a "
        "longer leave.",
    ),
    (
        "p",
        "The Medical Staff Office notifies the practitioner in writing within 3 business days of the "
        "decision.",
    ),
    ("p", "The practitioner may not see patients before the reinstatement date stated in the notice."),
    ("h3", "7.4 Focused Review after Return"),
    (
        "p",
        "A practitioner who returns after a leave longer than 6 months completes a Focused Professional "
        "Practice Evaluation (FPPE) under policy QM-201.",
    ),
    ("p", "The FPPE covers the first 10 cases or the first 3 months after return, whichever comes first."),
    (
        "p",
        "A practitioner who has been away from clinical practice for 12 months or longer may also be required "
        "to complete proctoring or a refresher course approved by the department chair.",
    ),
    (
        "p",
        "With the department chair's approval, a returning practitioner may work a reduced or gradually "
        "increasing schedule for up to 90 days.",
    ),
    ("h2", "8. Failure to Return"),
    (
        "p",
        "The Medical Staff Office sends the practitioner a written reminder 30 days before an approved leave "
        "ends.",
    ),
    (
        "p",
        "A practitioner who neither returns nor requests an extension by the end of an approved leave is "
        "treated as having resigned from the medical staff voluntarily.",
    ),
    (
        "p",
        "A resignation under this section is not a disciplinary action, and the practitioner may reapply "
        "under policy MS-101.",
    ),
    ("h2", "9. Confidentiality and Support"),
    (
        "p",
        "Information about the reason for a leave is shared only with the people who need it to arrange "
        "coverage, approve the leave or decide on reinstatement.",
    ),
    (
        "p",
        "The Practitioner Health Committee offers confidential support and referral to the employee "
        "assistance program for any practitioner before, during or after a leave.",
    ),
    ("h2", "10. Roles and Responsibilities"),
    (
        "bullets",
        [
            "Chief Medical Officer: approves leaves of up to 12 months, decides on reinstatement after those leaves "
            "and owns this policy.",
            "Medical Executive Committee: approves extensions and decides on reinstatement after leaves longer than "
            "12 months.",
            "Department chairs: review leave requests, arrange coverage and recommend reinstatement.",
            "Practitioner Health Committee: reviews fitness-for-duty letters and supports practitioners.",
            "Medical Staff Office: tracks leaves, sends reminders, keeps confidential health files and issues "
            "written notices.",
        ],
    ),
    ("h2", "11. Related Policies"),
    (
        "bullets",
        [
            "MS-101 Medical Staff Credentialing and Privileging",
            "QM-201 Peer Review and Professional Practice Evaluation",
            "OC-701 Physician On-Call Coverage and Compensation",
        ],
    ),
    ("h2", "12. Revision History"),
    (
        "bullets",
        [
            "Version 1.1 (2025-09-01): Added the dues waiver for leaves longer than 90 days and excluded active "
            "military service from the 24-month limit.",
            "Version 1.0 (2023-01-01): Initial policy approved by the Medical Executive Committee.",
        ],
    ),
]

POLICIES = {
    OC701_FILE: (OC701_TITLE, OC701_META, OC701),
    CE801_FILE: (CE801_TITLE, CE801_META, CE801),
    ML901_FILE: (ML901_TITLE, ML901_META, ML901),
}


def all_text(file_name: str) -> list[str]:
    """Every paragraph and list item of one policy as written to the document (for checking quotes)."""
    title, meta, blocks = POLICIES[file_name]
    out = [ORG, title, meta, NOTE]
    for kind, content in blocks:
        if kind in ("bullets", "numbers"):
            out.extend(content)
        else:
            out.append(content)
    return out


# --------------------------------------------------------------------------------------------------------------
# .docx
# --------------------------------------------------------------------------------------------------------------


def _restart_numbering(document, paragraphs) -> None:  # type: ignore[no-untyped-def]
    """Give a run of "List Number" paragraphs their own numbering, so every list starts at 1."""
    numbering = document.part.numbering_part.numbering_definitions._numbering
    style_num_id = document.styles["List Number"]._element.pPr.numPr.numId.val
    abstract_id = numbering.num_having_numId(style_num_id).abstractNumId.val
    num = numbering.add_num(abstract_id)
    num.add_lvlOverride(ilvl=0).add_startOverride(1)
    for paragraph in paragraphs:
        num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = num.numId


def build_docx(path: Path, title: str, meta: str, blocks: list) -> None:  # type: ignore[type-arg]
    import docx
    from docx.shared import Pt

    document = docx.Document()
    props = document.core_properties
    props.title = title
    props.author = ORG
    props.subject = meta
    props.keywords = "illustrative example policy"
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.last_printed = FIXED_DATE.replace(tzinfo=None)
    props.last_modified_by = ORG
    props.revision = 1

    letterhead = document.add_paragraph()
    run = letterhead.add_run(ORG)
    run.bold = True
    run.font.size = Pt(14)
    document.add_heading(title, level=1)
    document.add_paragraph(meta)
    note = document.add_paragraph()
    note.add_run(NOTE).italic = True

    for kind, content in blocks:
        if kind == "h2":
            document.add_heading(content, level=2)
        elif kind == "h3":
            document.add_heading(content, level=3)
        elif kind == "p":
            document.add_paragraph(content)
        elif kind == "bullets":
            for item in content:
                document.add_paragraph(item, style="List Bullet")
        elif kind == "numbers":
            items = [document.add_paragraph(item, style="List Number") for item in content]
            _restart_numbering(document, items)
        else:
            raise ValueError(kind)

    buffer = io.BytesIO()
    document.save(buffer)
    # Rewrite the archive with fixed timestamps so the file is byte-identical on every run.
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(
            source.infolist(), key=lambda i: (i.filename != "[Content_Types].xml", i.filename)
        ):
            fixed = zipfile.ZipInfo(info.filename, date_time=(2025, 9, 1, 8, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    path.write_bytes(out.getvalue())


# --------------------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------------------


def build_pdf(path: Path, title: str, meta: str, blocks: list) -> None:  # type: ignore[type-arg]
    from fpdf import FPDF

    number = meta.split("|")[0].split(":")[1].strip()
    running_header = f"{ORG}  |  {number} {title}"

    class PolicyPDF(FPDF):
        def header(self) -> None:
            self.set_font("helvetica", size=9)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, running_header, new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(150, 150, 150)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.ln(7)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("helvetica", size=9)
            self.set_text_color(90, 90, 90)
            self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = PolicyPDF(format="letter", unit="mm")
    pdf.set_margins(25, 18, 25)
    pdf.set_auto_page_break(True, margin=22)
    pdf.set_title(title)
    pdf.set_author(ORG)
    pdf.set_subject(meta)
    pdf.set_keywords("illustrative example policy")
    pdf.set_creator("corpus/build_examples.py")
    pdf.set_producer("fpdf2")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()

    line_h = 6.0
    pdf.set_font("helvetica", "B", 17)
    pdf.multi_cell(0, 8, title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 5.5, meta, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("helvetica", "I", 10)
    pdf.multi_cell(0, 5.5, NOTE, align="L", new_x="LMARGIN", new_y="NEXT")
    # With this spacing both PDFs have at least one body sentence that breaks across a page boundary,
    # as printed policies do; text extraction has to cope with the running header and footer in between.
    pdf.ln(10)

    for kind, content in blocks:
        if kind == "h2":
            pdf.ln(3)
            pdf.set_font("helvetica", "B", 14)
            pdf.multi_cell(0, 8, content, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "h3":
            pdf.ln(1)
            pdf.set_font("helvetica", "B", 12)
            pdf.multi_cell(0, 7, content, align="L", new_x="LMARGIN", new_y="NEXT")
        elif kind == "p":
            pdf.set_font("helvetica", size=11)
            pdf.multi_cell(0, line_h, content, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "bullets":
            pdf.set_font("helvetica", size=11)
            indent = 7.0
            for item in content:
                if pdf.will_page_break(line_h):
                    pdf.add_page()
                pdf.circle(x=pdf.l_margin + 2.5, y=pdf.get_y() + line_h / 2, radius=0.8, style="F")
                pdf.set_x(pdf.l_margin + indent)
                pdf.multi_cell(pdf.epw - indent, line_h, item, align="L", new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            pdf.ln(1)
        else:
            raise ValueError(kind)

    path.write_bytes(bytes(pdf.output()))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    build_docx(OUT / OC701_FILE, OC701_TITLE, OC701_META, OC701)
    build_pdf(OUT / CE801_FILE, CE801_TITLE, CE801_META, CE801)
    build_pdf(OUT / ML901_FILE, ML901_TITLE, ML901_META, ML901)
    for name in POLICIES:
        print(f"wrote {(OUT / name).relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
