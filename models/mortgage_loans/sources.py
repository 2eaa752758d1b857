"""Declared agency tables of the ``mortgage_loans`` scenario (the catalog's single source)."""

from __future__ import annotations

from pool.spec import DISTRICTS, ColumnSpec, SourceSpec

SCENARIO = "mortgage_loans"
PURPOSES: tuple[str, ...] = (
    "working_capital",
    "purchase_of_goods",
    "equipment",
    "business_expansion",
    "premises_renovation",
)
MORTGAGE_KINDS: tuple[str, ...] = ("home_loan", "business_loan", "other")
_DISTRICT = {"isin": list(DISTRICTS)}
_ID = "resident ID number as typed by the agency (format variants, some bad check characters)"

LOANS = SourceSpec(
    scenario=SCENARIO,
    agency="financial regulator (bank loan records)",
    table="loans",
    description=(
        "Business loans to small-business owners secured on a residential property (房产抵押"
        "经营贷), as banks report them; a few reports were filed twice."
    ),
    keys=("loan_id",),
    date_column="loan_date",
    filed_column="reported_on",
    columns=(
        ColumnSpec("loan_id", "string", "loan id (the entity)", checks={"regex": r"^LN\d{9}$"}),
        ColumnSpec("bank", "string", "lending bank"),
        ColumnSpec("branch_id", "string", "lending branch"),
        ColumnSpec("district", "string", "district of the branch", checks=_DISTRICT),
        ColumnSpec("loan_officer_id", "string", "staff id of the loan officer"),
        ColumnSpec("borrower_id", "string", _ID, personal="id"),
        ColumnSpec("borrower_name", "string", "borrower's name", personal="name"),
        ColumnSpec("company_code", "string", "credit code of the borrowing business, as typed"),
        ColumnSpec("company_name", "string", "name of the borrowing business, as typed"),
        ColumnSpec("amount_yuan", "float64", "amount lent", unit="yuan", checks={"min": 0}),
        ColumnSpec("term_months", "int64", "term of the loan", unit="months", checks={"min": 1}),
        ColumnSpec(
            "annual_rate",
            "float64",
            "annual interest rate",
            unit="fraction",
            checks={"min": 0, "max": 0.2},
        ),
        ColumnSpec("loan_date", "date", "day the loan was granted"),
        ColumnSpec(
            "stated_purpose",
            "string",
            "purpose stated in the contract",
            checks={"isin": list(PURPOSES)},
        ),
        ColumnSpec("collateral_property_id", "string", "property pledged as collateral"),
        ColumnSpec(
            "appraisal_value_yuan",
            "float64",
            "collateral value per the bank's appraiser",
            unit="yuan",
            checks={"min": 0},
        ),
        ColumnSpec("appraisal_firm", "string", "appraisal firm the bank used"),
        ColumnSpec("reported_on", "date", "day the bank reported the loan"),
    ),
)

APPLICATIONS = SourceSpec(
    scenario=SCENARIO,
    agency="financial regulator (loan application contact details)",
    table="loan_applications",
    description="Contact details and household on each loan application.",
    keys=("loan_id",),
    date_column="applied_on",
    columns=(
        ColumnSpec("loan_id", "string", "loan id", checks={"unique": True}),
        ColumnSpec("applied_on", "date", "day the application was filed"),
        ColumnSpec("contact_phone", "string", "phone given on the application", personal="phone"),
        ColumnSpec(
            "contact_address",
            "string",
            "mailing address given on the application",
            personal="address",
        ),
        ColumnSpec(
            "agent_name",
            "string",
            "loan agent (broker) named on the file, empty if none",
            nullable=True,
            personal="name",
        ),
        ColumnSpec(
            "agent_phone",
            "string",
            "agent's phone, empty if no agent",
            nullable=True,
            personal="phone",
        ),
        ColumnSpec(
            "marital_status",
            "string",
            "borrower's declared marital status",
            checks={"isin": ["married", "single", "divorced"]},
        ),
        ColumnSpec(
            "spouse_id",
            "string",
            "spouse's resident ID number, empty if none",
            nullable=True,
            personal="id",
        ),
        ColumnSpec(
            "spouse_name", "string", "spouse's name, empty if none", nullable=True, personal="name"
        ),
    ),
)

COMPANIES = SourceSpec(
    scenario=SCENARIO,
    agency="market regulation (company registry)",
    table="companies",
    description="Registered businesses that borrowed (and their registry facts).",
    keys=("credit_code",),
    date_column="founded_on",
    columns=(
        ColumnSpec(
            "credit_code",
            "string",
            "unified social credit code",
            checks={"unique": True, "regex": r"^[0-9A-HJ-NPQRTUWXY]{18}$"},
        ),
        ColumnSpec("name", "string", "registered name"),
        ColumnSpec("founded_on", "date", "day the company was founded"),
        ColumnSpec(
            "registered_capital_yuan",
            "float64",
            "subscribed registered capital",
            unit="yuan",
            checks={"min": 0},
        ),
        ColumnSpec("district", "string", "district of registration", checks=_DISTRICT),
        ColumnSpec("registered_address", "string", "registered address"),
        ColumnSpec("industry", "string", "industry as registered"),
        ColumnSpec(
            "legal_rep_id",
            "string",
            "legal representative's ID number at extract time",
            personal="id",
        ),
    ),
)

SHAREHOLDER_CHANGES = SourceSpec(
    scenario=SCENARIO,
    agency="market regulation (shareholder change records)",
    table="shareholder_changes",
    description="Share transfers recorded in the company registry.",
    keys=("change_id",),
    date_column="change_date",
    filed_column="recorded_on",
    columns=(
        ColumnSpec("change_id", "string", "change record id", checks={"unique": True}),
        ColumnSpec("credit_code", "string", "company whose shares changed hands"),
        ColumnSpec("change_date", "date", "day the transfer took effect"),
        ColumnSpec("from_holder_id", "string", "ID number of the seller", personal="id"),
        ColumnSpec("to_holder_id", "string", "ID number of the buyer", personal="id"),
        ColumnSpec(
            "share_pct",
            "float64",
            "share transferred",
            unit="percent",
            checks={"min": 0, "max": 100},
        ),
        ColumnSpec(
            "consideration_yuan",
            "float64",
            "price paid for the shares",
            unit="yuan",
            checks={"min": 0},
        ),
        ColumnSpec("recorded_on", "date", "day the registry recorded the change"),
    ),
)

TAX_FILINGS = SourceSpec(
    scenario=SCENARIO,
    agency="tax bureau (quarterly company filings)",
    table="tax_filings",
    description=(
        "Quarterly VAT filings of the borrowing companies: some quarters missing, some filed late "
        "or twice (amended)."
    ),
    keys=("credit_code", "quarter_end"),
    date_column="quarter_end",
    filed_column="filed_on",
    columns=(
        ColumnSpec("credit_code", "string", "filing company"),
        ColumnSpec("quarter_end", "date", "last day of the quarter filed"),
        ColumnSpec(
            "revenue_yuan",
            "float64",
            "declared revenue for the quarter",
            unit="yuan",
            checks={"min": 0},
        ),
        ColumnSpec(
            "vat_yuan", "float64", "VAT paid for the quarter", unit="yuan", checks={"min": 0}
        ),
        ColumnSpec("filed_on", "date", "day the filing reached the tax bureau"),
    ),
)

PROPERTY_TRANSACTIONS = SourceSpec(
    scenario=SCENARIO,
    agency="housing (property transaction registrations)",
    table="property_transactions",
    description=(
        "Home sales: the collateral properties' past purchases and every purchase by a borrower "
        "or spouse in the window."
    ),
    keys=("transaction_id",),
    date_column="contract_on",
    filed_column="registered_on",
    columns=(
        ColumnSpec("transaction_id", "string", "transaction id", checks={"unique": True}),
        ColumnSpec("property_id", "string", "property (unit) id"),
        ColumnSpec("district", "string", "district of the property", checks=_DISTRICT),
        ColumnSpec("area_sqm", "float64", "floor area", unit="m2", checks={"min": 10}),
        ColumnSpec("buyer_id", "string", _ID, personal="id"),
        ColumnSpec("buyer_name", "string", "buyer's name", personal="name"),
        ColumnSpec(
            "buyer_spouse_id",
            "string",
            "buyer's spouse's ID number, empty if none",
            nullable=True,
            personal="id",
        ),
        ColumnSpec("price_yuan", "float64", "contract price", unit="yuan", checks={"min": 0}),
        ColumnSpec("contract_on", "date", "day the contract was signed"),
        ColumnSpec("registered_on", "date", "day the transfer was registered"),
    ),
)

MORTGAGE_REGISTRATIONS = SourceSpec(
    scenario=SCENARIO,
    agency="housing (mortgage registrations)",
    table="mortgage_registrations",
    description="Mortgages registered on the properties above.",
    keys=("registration_id",),
    date_column="registered_on",
    columns=(
        ColumnSpec("registration_id", "string", "registration id", checks={"unique": True}),
        ColumnSpec("property_id", "string", "mortgaged property"),
        ColumnSpec("mortgagee_bank", "string", "bank holding the mortgage"),
        ColumnSpec("mortgagor_id", "string", "owner who pledged the property", personal="id"),
        ColumnSpec(
            "kind", "string", "what the mortgage secures", checks={"isin": list(MORTGAGE_KINDS)}
        ),
        ColumnSpec(
            "secured_amount_yuan", "float64", "amount secured", unit="yuan", checks={"min": 0}
        ),
        ColumnSpec("registered_on", "date", "day the mortgage was registered"),
        ColumnSpec(
            "released_on", "date", "day it was released, empty if outstanding", nullable=True
        ),
    ),
)

SOURCES: list[SourceSpec] = [
    LOANS,
    APPLICATIONS,
    COMPANIES,
    SHAREHOLDER_CHANGES,
    TAX_FILINGS,
    PROPERTY_TRANSACTIONS,
    MORTGAGE_REGISTRATIONS,
]
