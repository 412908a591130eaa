"""Code lists: land-use types, report categories, tree categories, VN_AQI, parameters.

Values are data (Land Law 2024 / Circular 08/2024/TT-BTNMT land-type codes plus the
legacy codes still found on older certificates; Decree 258/2025 tree categories;
QĐ 1459/QĐ-TCMT VN_AQI bands; QCVN 05:2023/BTNMT limits, PM2.5 24 h 45 µg/m³ from
2026-01-01).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TT08 = "TT 08/2024/TT-BTNMT"
LEGACY = "TT 27/2018/TT-BTNMT (legacy)"

LAND_USE = [
    # code, group, vi, en, basis
    ("LUC", "NNP", "Đất chuyên trồng lúa", "Paddy land (specialised)", TT08),
    ("LUK", "NNP", "Đất trồng lúa còn lại", "Other paddy land", TT08),
    ("HNK", "NNP", "Đất trồng cây hằng năm khác", "Other annual crops", TT08),
    ("CLN", "NNP", "Đất trồng cây lâu năm", "Perennial crops", TT08),
    ("RDD", "NNP", "Đất rừng đặc dụng", "Special-use forest", TT08),
    ("RPH", "NNP", "Đất rừng phòng hộ", "Protection forest", TT08),
    ("RSX", "NNP", "Đất rừng sản xuất", "Production forest", TT08),
    ("NTS", "NNP", "Đất nuôi trồng thủy sản", "Aquaculture", TT08),
    ("CNT", "NNP", "Đất chăn nuôi tập trung", "Concentrated livestock", TT08),
    ("LMU", "NNP", "Đất làm muối", "Salt production", TT08),
    ("NKH", "NNP", "Đất nông nghiệp khác", "Other agricultural land", TT08),
    ("ONT", "PNN", "Đất ở tại nông thôn", "Rural residential", TT08),
    ("ODT", "PNN", "Đất ở tại đô thị", "Urban residential", TT08),
    ("TSC", "PNN", "Đất xây dựng trụ sở cơ quan", "Government offices", TT08),
    ("CQP", "PNN", "Đất quốc phòng", "Defence", TT08),
    ("CAN", "PNN", "Đất an ninh", "Security", TT08),
    ("DVH", "PNN", "Đất xây dựng cơ sở văn hóa", "Cultural facilities", TT08),
    ("DXH", "PNN", "Đất xây dựng cơ sở dịch vụ xã hội", "Social services", TT08),
    ("DYT", "PNN", "Đất xây dựng cơ sở y tế", "Health facilities", TT08),
    ("DGD", "PNN", "Đất xây dựng cơ sở giáo dục và đào tạo", "Education", TT08),
    ("DTT", "PNN", "Đất xây dựng cơ sở thể dục thể thao", "Sports facilities", TT08),
    ("DKH", "PNN", "Đất xây dựng cơ sở khoa học và công nghệ", "Science", TT08),
    ("DMT", "PNN", "Đất xây dựng cơ sở môi trường", "Environment works", TT08),
    ("DKT", "PNN", "Đất xây dựng cơ sở khí tượng thủy văn", "Hydrometeorology", TT08),
    ("DNG", "PNN", "Đất xây dựng cơ sở ngoại giao", "Diplomatic", TT08),
    ("DSK", "PNN", "Đất xây dựng công trình sự nghiệp khác", "Other public works", TT08),
    ("SKK", "PNN", "Đất khu công nghiệp", "Industrial zone", TT08),
    ("SKN", "PNN", "Đất cụm công nghiệp", "Industrial cluster", TT08),
    ("TMD", "PNN", "Đất thương mại, dịch vụ", "Commerce and services", TT08),
    ("SKC", "PNN", "Đất cơ sở sản xuất phi nông nghiệp", "Non-agricultural production",
     TT08),
    ("SKS", "PNN", "Đất sử dụng cho hoạt động khoáng sản", "Mining", TT08),
    ("SKX", "PNN", "Đất sản xuất vật liệu xây dựng, làm đồ gốm", "Building materials",
     TT08),
    ("DGT", "PNN", "Đất giao thông", "Transport", TT08),
    ("DTL", "PNN", "Đất thủy lợi", "Irrigation", TT08),
    ("DCT", "PNN", "Đất công trình cấp nước, thoát nước", "Water supply and drainage",
     TT08),
    ("DPC", "PNN", "Đất công trình phòng, chống thiên tai", "Disaster prevention", TT08),
    ("DDD", "PNN", "Đất có di tích lịch sử - văn hóa, danh lam thắng cảnh",
     "Heritage sites", TT08),
    ("DRA", "PNN", "Đất công trình xử lý chất thải", "Waste treatment", TT08),
    ("DNL", "PNN", "Đất công trình năng lượng, chiếu sáng công cộng",
     "Energy and public lighting", TT08),
    ("DBV", "PNN", "Đất công trình bưu chính, viễn thông, công nghệ thông tin",
     "Post and telecoms", TT08),
    ("DCH", "PNN", "Đất chợ dân sinh, chợ đầu mối", "Markets", TT08),
    ("DKV", "PNN", "Đất khu vui chơi, giải trí công cộng, sinh hoạt cộng đồng",
     "Public recreation", TT08),
    ("DCK", "PNN", "Đất công trình công cộng khác", "Other public works", TT08),
    ("TON", "PNN", "Đất tôn giáo", "Religious", TT08),
    ("TIN", "PNN", "Đất tín ngưỡng", "Belief (shrines)", TT08),
    ("NTD", "PNN", "Đất nghĩa trang, nhà tang lễ, cơ sở hỏa táng", "Cemeteries", TT08),
    ("SON", "PNN", "Đất có mặt nước chuyên dùng dạng sông, ngòi, kênh, rạch, suối",
     "Rivers and canals", TT08),
    ("MNC", "PNN", "Đất có mặt nước chuyên dùng", "Specialised water surface", TT08),
    ("PNK", "PNN", "Đất phi nông nghiệp khác", "Other non-agricultural", TT08),
    ("BCS", "CSD", "Đất bằng chưa sử dụng", "Unused flat land", TT08),
    ("DCS", "CSD", "Đất đồi núi chưa sử dụng", "Unused hilly land", TT08),
    ("NCS", "CSD", "Núi đá không có rừng cây", "Bare rocky mountain", TT08),
    ("BHK", "NNP", "Đất bằng trồng cây hàng năm khác", "Other annual crops (flat)",
     LEGACY),
    ("NHK", "NNP", "Đất nương rẫy trồng cây hàng năm khác", "Upland annual crops",
     LEGACY),
    ("LUN", "NNP", "Đất trồng lúa nương", "Upland rice", LEGACY),
    ("DSH", "PNN", "Đất sinh hoạt cộng đồng", "Community activities", LEGACY),
]

REPORT_CATEGORIES = [
    ("lighting", "Chiếu sáng công cộng", "Street lighting", 3),
    ("trees", "Cây xanh", "Trees", 3),
    ("roads", "Giao thông, hạ tầng đường", "Roads and pavements", 7),
    ("drainage", "Thoát nước, ngập úng", "Drainage and flooding", 5),
    ("waste", "Rác thải, vệ sinh môi trường", "Waste and sanitation", 3),
    ("construction", "Trật tự xây dựng", "Construction order", 10),
    ("land", "Đất đai", "Land", 15),
    ("environment", "Ô nhiễm môi trường", "Pollution", 7),
    ("public_order", "Trật tự đô thị, lấn chiếm vỉa hè", "Urban order", 5),
    ("other", "Khác", "Other", 10),
]

DECREE_258 = "NĐ 258/2025/NĐ-CP"
TREE_CATEGORIES = [
    ("public", "use", "Cây xanh sử dụng công cộng", "Public-use tree", DECREE_258),
    ("restricted", "use", "Cây xanh sử dụng hạn chế", "Restricted-use tree", DECREE_258),
    ("special", "use", "Cây xanh chuyên dụng", "Special-purpose tree", DECREE_258),
    ("isolation", "use", "Cây xanh cách ly", "Isolation tree", DECREE_258),
    ("ancient", "conservation", "Cây cổ thụ (từ 50 năm tuổi)", "Ancient tree (>= 50 y)",
     DECREE_258),
    ("rare", "conservation", "Cây thuộc loài nguy cấp, quý, hiếm",
     "Endangered or rare species", DECREE_258),
    ("heritage", "conservation", "Cây có giá trị lịch sử, văn hóa",
     "Historical or cultural value", DECREE_258),
]

QD1459 = "QĐ 1459/QĐ-TCMT"
AQI_BANDS = [
    (0, 50, "Tốt", "Good", "green", "0,228,0", QD1459),
    (51, 100, "Trung bình", "Moderate", "yellow", "255,255,0", QD1459),
    (101, 150, "Kém", "Poor", "orange", "255,126,0", QD1459),
    (151, 200, "Xấu", "Bad", "red", "255,0,0", QD1459),
    (201, 300, "Rất xấu", "Very bad", "purple", "143,63,151", QD1459),
    (301, 500, "Nguy hại", "Hazardous", "brown", "126,0,35", QD1459),
]

QCVN05 = "QCVN 05:2023/BTNMT"
PARAMETERS = [
    # code, vi, en, unit, 1h, 24h, year, basis, valid_from
    ("pm25", "Bụi PM2.5", "PM2.5", "µg/m³", None, 45, 25, QCVN05, "2026-01-01"),
    ("pm10", "Bụi PM10", "PM10", "µg/m³", None, 100, 50, QCVN05, "2023-09-12"),
    ("no2", "Nitơ điôxit", "Nitrogen dioxide", "µg/m³", 200, 100, 40, QCVN05,
     "2023-09-12"),
    ("o3", "Ôzôn", "Ozone", "µg/m³", 200, None, None, QCVN05, "2023-09-12"),
    ("co", "Cacbon monoxit", "Carbon monoxide", "µg/m³", 30000, None, None, QCVN05,
     "2023-09-12"),
    ("so2", "Lưu huỳnh điôxit", "Sulphur dioxide", "µg/m³", 350, 125, 50, QCVN05,
     "2023-09-12"),
    ("noise", "Tiếng ồn (LAeq)", "Noise (LAeq)", "dBA", 70, None, None,
     "QCVN 26:2010/BTNMT (ordinary zone, 6-21 h)", "2010-12-16"),
]


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "INSERT INTO land_use_type (code, group_code, name_vi, name_en, legal_basis)"
            " VALUES (:c, :g, :vi, :en, :b)"
        ),
        [dict(zip(("c", "g", "vi", "en", "b"), r, strict=True)) for r in LAND_USE],
    )
    conn.execute(
        sa.text(
            "INSERT INTO report_category (code, name_vi, name_en, handling_days)"
            " VALUES (:c, :vi, :en, :d)"
        ),
        [dict(zip(("c", "vi", "en", "d"), r, strict=True)) for r in REPORT_CATEGORIES],
    )
    conn.execute(
        sa.text(
            "INSERT INTO tree_category (code, kind, name_vi, name_en, legal_basis)"
            " VALUES (:c, :k, :vi, :en, :b)"
        ),
        [dict(zip(("c", "k", "vi", "en", "b"), r, strict=True)) for r in TREE_CATEGORIES],
    )
    conn.execute(
        sa.text(
            "INSERT INTO aqi_band (aqi_min, aqi_max, name_vi, name_en, color, rgb,"
            " legal_basis) VALUES (:lo, :hi, :vi, :en, :c, :rgb, :b)"
        ),
        [
            dict(zip(("lo", "hi", "vi", "en", "c", "rgb", "b"), r, strict=True))
            for r in AQI_BANDS
        ],
    )
    conn.execute(
        sa.text(
            "INSERT INTO env_parameter (code, name_vi, name_en, unit, limit_1h,"
            " limit_24h, limit_year, limit_basis, valid_from)"
            " VALUES (:c, :vi, :en, :u, :h, :d, :y, :b, CAST(:f AS date))"
        ),
        [
            dict(zip(("c", "vi", "en", "u", "h", "d", "y", "b", "f"), r, strict=True))
            for r in PARAMETERS
        ],
    )


def downgrade() -> None:
    for table in ("env_parameter", "aqi_band", "tree_category", "report_category",
                  "land_use_type"):
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
