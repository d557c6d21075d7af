"""The words the field plan knows: which field names mean what, and what samplers draw from.

Field names and formats → samplers (`NAME_SAMPLERS`, `SUFFIX_SAMPLERS`, `FORMAT_SAMPLERS`), the
cue sets that say what a record is about (`PERSON_CUES`, `PRODUCT_CUES`, the event stems,
`HOBBY_FIELDS`), which date follows which (`AFTER`), and the tables values come from: real places,
products and brands, hobbies, event titles, colours. Data only (and `_date_stem`, which reads a
field name), so a reader can extend a table without touching the code that uses it.
"""

from __future__ import annotations

from typing import NamedTuple


def _by_name(table: dict[tuple[str, ...], tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {name: samplers for names, samplers in table.items() for name in names}


# Counts of people or things by field name: their typical range, drawn log-uniformly (most events
# have dozens of attendees, a few thousands), within the schema's own bounds when it has them. A
# model asked for an unbounded count writes 103456789.
COUNT_RANGES: dict[tuple[str, ...], tuple[int, int]] = {
    (
        "attendees",
        "attendee_count",
        "attendance",
        "participants",
        "participant_count",
        "guests",
        "guest_count",
        "registrations",
        "rsvps",
        "tickets_sold",
    ): (8, 2000),
    ("capacity", "seats", "max_attendees", "max_participants", "max_guests"): (20, 5000),
    ("quantity", "qty", "units", "item_count", "items_count"): (1, 12),
    ("employees", "employee_count", "staff_count", "team_size"): (2, 5000),
    ("review_count", "reviews_count", "rating_count", "ratings_count", "num_reviews"): (0, 4000),
    ("stock", "in_stock", "stock_quantity", "inventory", "units_in_stock"): (0, 500),
}


PRICE_NAMES = ("price", "unit_price", "list_price", "sale_price", "retail_price", "msrp")


PRICE_RANGE = (2.0, 800.0)
"""A shop's prices, log-uniform (most under 50, a few in the hundreds), ending in .99, .49 or .00."""


# Normalised (snake_case) field name → samplers to try in order; the first whose trial draws
# validate wins (so `color` with a hex pattern falls through to `hex_color`).
JOB_FIELDS = ("job", "job_title", "occupation", "profession")
"""Field names (snake case) that hold a person's job."""
NAME_SAMPLERS: dict[str, tuple[str, ...]] = _by_name(
    {
        ("first_name", "firstname", "given_name", "forename"): ("first_name",),
        ("last_name", "lastname", "surname", "family_name"): ("last_name",),
        (
            "full_name",
            "fullname",
            "person_name",
            "customer_name",
            "client_name",
            "contact_name",
            "author_name",
            "author",
            "reviewer",
            "reviewer_name",
            "organizer",
            "organizer_name",
            "assignee",
            "reporter",
            "owner_name",
            "buyer_name",
            "seller_name",
            "manager_name",
        ): ("full_name",),
        ("email", "email_address", "mail"): ("email",),
        ("phone", "phone_number", "telephone", "mobile", "mobile_number", "cell_phone"): ("phone",),
        (
            "address",
            "home_address",
            "mailing_address",
            "postal_address",
            "full_address",
            "billing_address",
            "shipping_address",
            "delivery_address",
            "business_address",
            "office_address",
            "work_address",
            "customer_address",
        ): ("address",),
        ("street", "street_address", "address_line1", "address_line_1", "address1"): ("street_address",),
        ("city", "town"): ("city",),
        # function-call arguments ("The city and state, e.g. San Francisco, CA"): a model echoes their description
        ("location", "current_location", "user_location", "city_state", "city_and_state", "destination"): ("location",),
        ("country", "country_name"): ("country", "country_code"),
        ("country_code", "country_iso", "iso_country"): ("country_code",),
        ("company", "company_name", "employer", "organization", "organisation"): ("company",),
        JOB_FIELDS: ("job",),
        ("url", "website", "homepage", "web_site", "website_url", "homepage_url"): ("url",),
        ("uuid", "guid"): ("uuid",),
        ("id",): ("uuid", "serial"),
        ("ip", "ip_address", "ipv4", "ipv4_address"): ("ipv4",),
        ("ipv6", "ipv6_address"): ("ipv6",),
        ("username", "user_name", "login", "handle", "screen_name"): ("username",),
        ("zip", "zip_code", "zipcode", "postal_code", "postcode"): ("postcode",),
        ("currency", "currency_code"): ("currency",),
        ("color", "colour"): ("color", "hex_color"),
        ("hex_color", "hex_colour"): ("hex_color",),
        ("latitude", "lat"): ("latitude",),
        ("longitude", "lng", "lon", "long"): ("longitude",),
        ("age",): ("age",),
        ("birthday", "birth_date", "birthdate", "date_of_birth", "dob"): ("birth_date",),
        ("hostname", "host_name"): ("hostname",),
        ("sku",): ("sku",),
        ("date",): ("date",),
        ("timestamp", "created", "updated", "modified"): ("date_time",),
    }
    | {names: ("count",) for names in COUNT_RANGES}
    | {PRICE_NAMES: ("price",)}
    | {("warehouse", "warehouse_name", "fulfillment_center", "distribution_center"): ("warehouse",)}
)


# Name suffixes, tried when the whole name is not in NAME_SAMPLERS.
SUFFIX_SAMPLERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("_email", ("email",)),
    ("_url", ("url",)),
    ("_phone", ("phone",)),
    ("_uuid", ("uuid",)),
    ("_sku", ("sku",)),
    ("_city", ("city",)),
    ("_location", ("location",)),
    ("_country", ("country",)),
    ("_ip", ("ipv4",)),
    ("_at", ("date_time",)),
    ("_date", ("date",)),
    ("_on", ("date",)),
)


MEASURE_UNITS = frozenset({"units", "unit"})
"""Names of counts (`units` sold) that, as text, name a unit of measure ("kg"): not sampled as a count."""


FORMAT_SAMPLERS: dict[str, str] = {
    "email": "email",
    "idn-email": "email",
    "uuid": "uuid",
    "uri": "url",
    "iri": "url",
    "uri-reference": "url",
    "date": "date",
    "date-time": "date_time",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "hostname": "hostname",
    "idn-hostname": "hostname",
}


# A list of strings under one of these names, in a record about a person, is their hobbies.
HOBBY_FIELDS = frozenset({"interests", "hobbies", "pastimes", "likes", "passions"})


# A bare `name` is a person's name only next to fields like these; otherwise (a product, a
# city, an event) it stays with the model.
PERSON_CUES = frozenset(
    "first_name last_name surname email email_address phone phone_number age birthday birth_date date_of_birth dob"
    " username user_name job_title occupation gender bio biography nationality pronouns".split()
)


# Date stems: a field `X_at` (or `X_date`, ...) whose stem is a key comes after the first field
# whose stem is in the value; the stems in SHORT_SPANS follow within a month.
AFTER: dict[str, tuple[str, ...]] = {
    "updated": ("created",),
    "modified": ("created",),
    "last_login": ("signed_up", "created", "registered", "joined"),
    "last_seen": ("signed_up", "created", "registered", "joined"),
    "end": ("start", "starts"),
    "ends": ("starts", "start"),
    "ended": ("started",),
    "finished": ("started",),
    "completed": ("started", "created"),
    "closed": ("opened", "created"),
    "resolved": ("opened", "created"),
    "shipped": ("ordered", "placed", "created"),
    "delivered": ("shipped",),
    "due": ("issued", "created"),
    "check_out": ("check_in",),  # not checkout/checkin: a library loan checks out first
    "return": ("departure", "outbound"),
}


OVERNIGHT = frozenset({"check_out", "return"})
"""Ends at least a night after their start: a hotel stay, a trip."""


SHORT_SPANS = frozenset(
    {"end", "ended", "finished", "completed", "closed", "resolved", "shipped", "delivered", "due", "check_out", "return"}
)


# A record with a start, an end and a title or a place is an event (not a subscription): its
# title is an event's, it starts on the quarter hour and ends hours later.
EVENT_STARTS, EVENT_ENDS = frozenset({"start", "starts", "begin", "begins"}), frozenset({"end", "ends"})


EVENT_TITLES = frozenset({"title", "name", "event_name", "event_title"})


EVENT_PLACES = frozenset({"city", "venue", "location", "place", "address"})


# A record with a price, a stock count or an SKU (and no person) is a product: its `name` is a
# product's, and its `category` the one that product belongs to.
PRODUCT_CUES = frozenset({"sku", "price", "unit_price", "list_price", "msrp", "stock", "in_stock", "stock_quantity", "inventory"})


PRODUCT_NAMES = frozenset({"name", "title", "product_name", "product", "product_title"})


PRODUCT_CATEGORIES = frozenset({"category", "product_category", "department"})


_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")


_COLORS = tuple(
    "black white gray silver navy blue red green beige brown pink purple yellow orange teal olive burgundy charcoal cream gold".split()
)


_HOBBIES = (
    "trail running",
    "sourdough baking",
    "birdwatching",
    "chess",
    "rock climbing",
    "gardening",
    "woodworking",
    "film photography",
    "cycling",
    "board games",
    "pottery",
    "open-water swimming",
    "jazz piano",
    "volunteering at a food bank",
    "hiking",
    "home brewing",
    "knitting",
    "sailing",
    "amateur astronomy",
    "salsa dancing",
    "fly fishing",
    "restoring old bikes",
    "podcasting",
    "language learning",
    "community theatre",
    "bouldering",
    "vegetable pickling",
    "marathon training",
)


_ANGLES = (
    "a recent career change",
    "a side project",
    "a pet",
    "a place they lived before",
    "what they are learning now",
    "a volunteer role",
    "a family tradition",
    "a goal for next year",
    "how they got into their field",
    "a favourite weekend routine",
)


_TONES = ("warm", "matter-of-fact", "enthusiastic", "dry and witty", "formal", "understated", "curious", "pragmatic")


_STREET_LOCALES = frozenset(
    "en_US en_GB en_CA en_AU en_NZ en_IE en_IN de_DE de_AT de_CH fr_FR es_ES it_IT nl_NL sv_SE pl_PL pt_PT pt_BR es_MX es_AR".split()
)


class Place(NamedTuple):
    """A real city with what goes with it, so city, country, code, currency, postcode and
    coordinates of one record agree. Postcode patterns: `#` a digit, `?` a capital letter."""

    city: str
    region: str
    country: str
    code: str
    lat: float
    lon: float
    currency: str
    postcode: str
    locale: str


def _places(rows: str) -> tuple[Place, ...]:
    out = []
    for row in rows.strip().splitlines():
        city, region, country, code, lat, lon, currency, postcode, locale = (c.strip() for c in row.split("|"))
        out.append(Place(city, region, country, code, float(lat), float(lon), currency, postcode, locale))
    return tuple(out)


PLACES = _places("""
New York|NY|United States|US|40.7128|-74.0060|USD|100##|en_US
Los Angeles|CA|United States|US|34.0522|-118.2437|USD|900##|en_US
Chicago|IL|United States|US|41.8781|-87.6298|USD|606##|en_US
Houston|TX|United States|US|29.7604|-95.3698|USD|770##|en_US
Phoenix|AZ|United States|US|33.4484|-112.0740|USD|850##|en_US
Philadelphia|PA|United States|US|39.9526|-75.1652|USD|191##|en_US
San Diego|CA|United States|US|32.7157|-117.1611|USD|921##|en_US
Dallas|TX|United States|US|32.7767|-96.7970|USD|752##|en_US
Austin|TX|United States|US|30.2672|-97.7431|USD|787##|en_US
Seattle|WA|United States|US|47.6062|-122.3321|USD|981##|en_US
Denver|CO|United States|US|39.7392|-104.9903|USD|802##|en_US
Boston|MA|United States|US|42.3601|-71.0589|USD|021##|en_US
Atlanta|GA|United States|US|33.7490|-84.3880|USD|303##|en_US
Portland|OR|United States|US|45.5152|-122.6784|USD|972##|en_US
Minneapolis|MN|United States|US|44.9778|-93.2650|USD|554##|en_US
Nashville|TN|United States|US|36.1627|-86.7816|USD|372##|en_US
Columbus|OH|United States|US|39.9612|-82.9988|USD|432##|en_US
Miami|FL|United States|US|25.7617|-80.1918|USD|331##|en_US
Raleigh|NC|United States|US|35.7796|-78.6382|USD|276##|en_US
Pittsburgh|PA|United States|US|40.4406|-79.9959|USD|152##|en_US
Toronto|ON|Canada|CA|43.6532|-79.3832|CAD|M#? #?#|en_CA
Vancouver|BC|Canada|CA|49.2827|-123.1207|CAD|V#? #?#|en_CA
Montreal|QC|Canada|CA|45.5017|-73.5673|CAD|H#? #?#|en_CA
London|England|United Kingdom|GB|51.5074|-0.1278|GBP|SW# #??|en_GB
Manchester|England|United Kingdom|GB|53.4808|-2.2426|GBP|M# #??|en_GB
Edinburgh|Scotland|United Kingdom|GB|55.9533|-3.1883|GBP|EH# #??|en_GB
Dublin|Leinster|Ireland|IE|53.3498|-6.2603|EUR|D## ?#??|en_IE
Berlin|Berlin|Germany|DE|52.5200|13.4050|EUR|1####|de_DE
Munich|Bavaria|Germany|DE|48.1351|11.5820|EUR|8####|de_DE
Hamburg|Hamburg|Germany|DE|53.5511|9.9937|EUR|2####|de_DE
Paris|Île-de-France|France|FR|48.8566|2.3522|EUR|750##|fr_FR
Lyon|Auvergne-Rhône-Alpes|France|FR|45.7640|4.8357|EUR|6900#|fr_FR
Madrid|Madrid|Spain|ES|40.4168|-3.7038|EUR|280##|es_ES
Barcelona|Catalonia|Spain|ES|41.3874|2.1686|EUR|080##|es_ES
Rome|Lazio|Italy|IT|41.9028|12.4964|EUR|001##|it_IT
Milan|Lombardy|Italy|IT|45.4642|9.1900|EUR|201##|it_IT
Amsterdam|North Holland|Netherlands|NL|52.3676|4.9041|EUR|10## ??|nl_NL
Stockholm|Stockholm|Sweden|SE|59.3293|18.0686|SEK|1## ##|sv_SE
Warsaw|Masovia|Poland|PL|52.2297|21.0122|PLN|0#-###|pl_PL
Lisbon|Lisbon|Portugal|PT|38.7223|-9.1393|EUR|1###-###|pt_PT
Zurich|Zurich|Switzerland|CH|47.3769|8.5417|CHF|80##|de_CH
Vienna|Vienna|Austria|AT|48.2082|16.3738|EUR|1###|de_AT
Sydney|NSW|Australia|AU|-33.8688|151.2093|AUD|2###|en_AU
Melbourne|VIC|Australia|AU|-37.8136|144.9631|AUD|3###|en_AU
Auckland|Auckland|New Zealand|NZ|-36.8485|174.7633|NZD|1###|en_NZ
Tokyo|Tokyo|Japan|JP|35.6762|139.6503|JPY|1##-####|en_US
Osaka|Osaka|Japan|JP|34.6937|135.5023|JPY|5##-####|en_US
Seoul|Seoul|South Korea|KR|37.5665|126.9780|KRW|0####|en_US
Singapore|Singapore|Singapore|SG|1.3521|103.8198|SGD|######|en_US
Bengaluru|Karnataka|India|IN|12.9716|77.5946|INR|560###|en_IN
Mumbai|Maharashtra|India|IN|19.0760|72.8777|INR|400###|en_IN
São Paulo|SP|Brazil|BR|-23.5505|-46.6333|BRL|0####-###|pt_BR
Mexico City|CDMX|Mexico|MX|19.4326|-99.1332|MXN|0####|es_MX
Buenos Aires|CABA|Argentina|AR|-34.6037|-58.3816|ARS|C####???|es_AR
Cape Town|Western Cape|South Africa|ZA|-33.9249|18.4241|ZAR|8###|en_US
Nairobi|Nairobi|Kenya|KE|-1.2921|36.8219|KES|00###|en_US
Lagos|Lagos|Nigeria|NG|6.5244|3.3792|NGN|1#####|en_US
""")


_REGION_FIRST = frozenset({"US", "CA", "AU"})


_BRANDS = tuple(
    "Northwind Kestrel Alder Bluepeak Corvid Fernhill Halden Ironbark Juniper Lumen Marlow Nordvik Oakline Pellucid Quill"
    " Redfern Saltmarsh Tamarack Umber Vantage Willow Yarrow Zephyr Brightwater Cobalt Driftwood Everly Foxglove Granite Harbor".split()
)


# (what the product is, its department, its usual price range): a 135M model asked for a product's
# name writes its SKU.
_PRODUCTS = (
    ("Insulated Water Bottle", "Outdoors", 15, 45),
    ("Trail Running Shoes", "Footwear", 70, 180),
    ("Wireless Earbuds", "Electronics", 25, 250),
    ("Cast Iron Skillet", "Kitchen", 20, 90),
    ("Yoga Mat", "Fitness", 15, 90),
    ("Merino Wool Socks", "Apparel", 12, 30),
    ("Desk Lamp", "Home Office", 20, 150),
    ("Mechanical Keyboard", "Electronics", 50, 220),
    ("Chef's Knife", "Kitchen", 25, 200),
    ("Rain Jacket", "Apparel", 60, 300),
    ("Camping Lantern", "Outdoors", 15, 70),
    ("Pour-Over Coffee Maker", "Kitchen", 15, 60),
    ("Backpack", "Travel", 35, 200),
    ("Bluetooth Speaker", "Electronics", 25, 300),
    ("Cotton Bath Towel", "Home", 10, 40),
    ("Ceramic Mug", "Kitchen", 8, 30),
    ("Adjustable Dumbbells", "Fitness", 60, 400),
    ("Linen Shirt", "Apparel", 30, 120),
    ("Standing Desk Mat", "Home Office", 30, 110),
    ("Noise-Cancelling Headphones", "Electronics", 80, 450),
    ("Hiking Poles", "Outdoors", 30, 150),
    ("Wool Beanie", "Apparel", 15, 45),
    ("Cutting Board", "Kitchen", 15, 80),
    ("USB-C Charger", "Electronics", 12, 60),
    ("Scented Candle", "Home", 10, 45),
    ("Resistance Bands", "Fitness", 10, 40),
    ("Travel Pillow", "Travel", 15, 50),
    ("Leather Wallet", "Accessories", 25, 120),
    ("Sunglasses", "Accessories", 20, 250),
    ("Down Sleeping Bag", "Outdoors", 90, 450),
    ("French Press", "Kitchen", 20, 70),
    ("Smart Watch Band", "Electronics", 10, 60),
    ("Throw Blanket", "Home", 25, 120),
    ("Bike Helmet", "Sports", 35, 200),
    ("Tennis Racket", "Sports", 40, 250),
    ("Notebook Set", "Stationery", 8, 35),
    ("Fountain Pen", "Stationery", 20, 200),
    ("Plant Pot", "Garden", 10, 60),
    ("Garden Gloves", "Garden", 8, 30),
    ("Carry-On Suitcase", "Travel", 90, 400),
)


def department_of(product_name: str) -> str | None:
    """The department of a product named by the sampler ("Fernhill Classic Rain Jacket" → "Apparel")."""
    return next((dept for noun, dept, _, _ in _PRODUCTS if product_name.endswith(noun)), None)


_PRODUCT_TOUCHES = ("", "", "", "Classic ", "Pro ", "Lite ", "Everyday ", "Compact ", "Deluxe ")


_EVENT_TOPICS = tuple(
    "Jazz|Python|Data Science|Open Source|Street Food|Craft Beer|Photography|Startup|Climate|Film|Poetry|Robotics|Design"
    "|Cloud Native|Indie Game|Urban Gardening|Chess|Wine|Classical Music|Comedy|Book|Yoga|Cybersecurity|Machine Learning"
    "|Blues|Folk Music|Vintage Car|Ceramics|Women in Tech|Product Management|DevOps|Sustainability|Fintech|Salsa|Science"
    "|Local History|Architecture|Coffee|Running|Mobile Dev".split("|")
)


_EVENT_KINDS = tuple("Festival Meetup Conference Summit Workshop Night Fair Expo Hackathon Symposium Showcase Forum Market Days".split())


_EVENT_PREFIXES = ("International", "Community", "Downtown", "Regional", "Annual", "Open", "Global", "City", "Grand", "Spotlight")


def _date_stem(snake: str) -> str:
    """`created_at` → `created`, `start_date` → `start`, `start_datetime` → `start`."""
    for suffix in ("_at", "_date", "_on", "_date_time", "_datetime", "_time", "_timestamp"):
        if snake.endswith(suffix) and len(snake) > len(suffix):
            return snake[: -len(suffix)]
    return snake


RETIREMENT_AGE = 70
"""From this age a bio calls the person's job theirs in retirement: "Jamie Obrien is a commercial
art gallery manager", age 81, read in a nightly, reads "… is a retired commercial art gallery
manager". A job field the record gives is left as it is (it may be the last one held)."""
FIRST_JOB_AGE = 23
"""Under this age a person is studying or in a first job: Faker's job list (lecturers, surgeons,
directors) would make an 18-year-old "a higher education lecturer", as a nightly did."""
FIRST_JOBS = (
    "university student",
    "nursing student",
    "apprentice electrician",
    "apprentice carpenter",
    "trainee chef",
    "barista",
    "retail assistant",
    "warehouse operative",
    "lifeguard",
    "junior web developer",
    "call centre agent",
    "veterinary nurse trainee",
)
