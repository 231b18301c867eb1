package seed

// The fixed tables of the demo county. Everything random (people, businesses,
// coordinates) is drawn in county.go from these.

// township is a 乡镇 with its grids (网格). Lat/Lng is its centre; Radius (km)
// bounds how far its grids and businesses lie from the centre, so that points
// stay on the island.
type township struct {
	Code   string
	Name   string
	Lat    float64
	Lng    float64
	Radius float64
	Weight int // share of the county's businesses
	Grids  []grid
}

type grid struct {
	Suffix string // code suffix under the township: SS-CY-G01
	Name   string
	Roads  []string
}

// countyCode and countyName name the root of the region tree.
const (
	countyCode = "SS"
	countyName = "嵊泗县"
	// divisionCode is 嵊泗县's administrative division code (GB/T 2260), the
	// third to eighth characters of every local USCC.
	divisionCode = "330922"
)

// townships in official order (3 镇, then 4 乡).
var townships = []township{
	{Code: "SS-CY", Name: "菜园镇", Lat: 30.725, Lng: 122.452, Radius: 2.0, Weight: 42, Grids: []grid{
		{"G01", "沙河社区网格", []string{"沙河路", "海滨中路", "人民路"}},
		{"G02", "金平社区网格", []string{"金平路", "青沙路", "东海路"}},
		{"G03", "高场湾社区网格", []string{"高场湾路", "渔港路"}},
		{"G04", "基湖村网格", []string{"基湖路", "南长涂路"}},
		{"G05", "马关村网格", []string{"马关路", "李柱山路"}},
	}},
	{Code: "SS-SH", Name: "嵊山镇", Lat: 30.720, Lng: 122.820, Radius: 0.9, Weight: 12, Grids: []grid{
		{"G01", "箱子岙村网格", []string{"箱子岙路", "嵊山渔港路"}},
		{"G02", "泗洲塘村网格", []string{"泗洲塘路", "东崖路"}},
		{"G03", "陈钱山村网格", []string{"陈钱路"}},
	}},
	{Code: "SS-YS", Name: "洋山镇", Lat: 30.620, Lng: 122.050, Radius: 1.2, Weight: 14, Grids: []grid{
		{"G01", "大洋社区网格", []string{"大洋路", "圣姑路"}},
		{"G02", "小洋山网格", []string{"小洋山路", "港区路"}},
		{"G03", "沈家湾网格", []string{"沈家湾路"}},
	}},
	{Code: "SS-WL", Name: "五龙乡", Lat: 30.730, Lng: 122.420, Radius: 1.2, Weight: 10, Grids: []grid{
		{"G01", "会城村网格", []string{"会城路", "五龙路"}},
		{"G02", "田岙村网格", []string{"田岙路", "边礁路"}},
	}},
	{Code: "SS-HL", Name: "黄龙乡", Lat: 30.690, Lng: 122.670, Radius: 0.8, Weight: 8, Grids: []grid{
		{"G01", "峙岙村网格", []string{"峙岙路", "东海石路"}},
		{"G02", "大岙村网格", []string{"大岙路", "南港路"}},
	}},
	{Code: "SS-GQ", Name: "枸杞乡", Lat: 30.720, Lng: 122.770, Radius: 1.0, Weight: 10, Grids: []grid{
		{"G01", "奇观村网格", []string{"奇观路", "山海路"}},
		{"G02", "石浦村网格", []string{"石浦路", "大王宫路"}},
	}},
	{Code: "SS-HN", Name: "花鸟乡", Lat: 30.850, Lng: 122.670, Radius: 0.6, Weight: 4, Grids: []grid{
		{"G01", "花鸟村网格", []string{"花鸟路", "灯塔路"}},
		{"G02", "北岙网格", []string{"北岙路"}},
	}},
}

// department with its inspection items.
type department struct {
	Code  string
	Name  string
	Items []item
}

type item struct {
	Code       string
	Name       string
	Domain     string
	Minutes    int
	LegalBasis string
}

var departments = []department{
	{"SCJG", "嵊泗县市场监督管理局", []item{
		{"SCJG-01", "食品经营许可及公示", "food_safety", 15, "《中华人民共和国食品安全法》第三十五条"},
		{"SCJG-02", "食品贮存与加工过程", "food_safety", 30, "《中华人民共和国食品安全法》第三十三条、第五十四条"},
		{"SCJG-03", "计量器具", "metrology", 15, "《中华人民共和国计量法》第九条"},
		{"SCJG-04", "明码标价与价格公示", "pricing", 10, "《中华人民共和国价格法》第十三条"},
		{"SCJG-05", "药品经营质量管理规范执行", "drug_safety", 30, "《中华人民共和国药品管理法》第五十三条"},
		{"SCJG-06", "网络经营主体信息公示", "e_commerce", 15, "《中华人民共和国电子商务法》第十五条"},
	}},
	{"STHJ", "舟山市生态环境局嵊泗分局", []item{
		{"STHJ-01", "油烟净化设施", "environment", 15, "《中华人民共和国大气污染防治法》第八十一条"},
		{"STHJ-02", "危险废物贮存", "environment", 20, "《中华人民共和国固体废物污染环境防治法》第八十一条"},
		{"STHJ-03", "排污许可与废水排放", "environment", 25, "《中华人民共和国水污染防治法》第二十一条"},
		{"STHJ-04", "加油站油气回收", "environment", 20, "《中华人民共和国大气污染防治法》第四十七条"},
	}},
	{"WHLY", "嵊泗县文化和广电旅游体育局", []item{
		{"WHLY-01", "娱乐及上网服务场所经营许可与安全", "culture_tourism", 20, "《娱乐场所管理条例》第九条；《互联网上网服务营业场所管理条例》第七条"},
		{"WHLY-02", "上网服务场所未成年人保护", "culture_tourism", 10, "《互联网上网服务营业场所管理条例》第二十一条"},
		{"WHLY-03", "旅游住宿服务规范", "culture_tourism", 15, "《中华人民共和国旅游法》"},
		{"WHLY-04", "网络表演经营规范", "culture_tourism", 15, "《网络表演经营活动管理办法》"},
	}},
	{"JTYS", "嵊泗县交通运输局", []item{
		{"JTYS-01", "道路运输车辆与从业资格", "transport", 15, "《中华人民共和国道路运输条例》"},
		{"JTYS-02", "危险货物道路运输", "transport", 20, "《危险货物道路运输安全管理办法》"},
		{"JTYS-03", "港口经营许可", "transport", 20, "《中华人民共和国港口法》第二十二条"},
		{"JTYS-04", "水路旅客运输安全", "transport", 30, "《国内水路运输管理条例》"},
	}},
	{"NYNC", "嵊泗县农业农村局", []item{
		{"NYNC-01", "农药经营许可", "agriculture", 15, "《农药管理条例》第二十四条"},
		{"NYNC-02", "农产品质量安全", "agriculture", 20, "《中华人民共和国农产品质量安全法》"},
		{"NYNC-03", "动物防疫条件", "agriculture", 20, "《中华人民共和国动物防疫法》"},
	}},
	{"ZRZY", "舟山市自然资源和规划局嵊泗分局", []item{
		{"ZRZY-01", "建设工程规划许可", "natural_resources", 20, "《中华人民共和国城乡规划法》第四十条"},
		{"ZRZY-02", "海域使用权", "natural_resources", 25, "《中华人民共和国海域使用管理法》第三条"},
		{"ZRZY-03", "土地利用与违法占地", "natural_resources", 20, "《中华人民共和国土地管理法》"},
	}},
	{"YJGL", "嵊泗县应急管理局", []item{
		{"YJGL-01", "危险化学品储存", "work_safety", 20, "《危险化学品安全管理条例》第二十四条"},
		{"YJGL-02", "安全生产责任制与隐患排查", "work_safety", 20, "《中华人民共和国安全生产法》第四十一条"},
		{"YJGL-03", "动火与有限空间作业", "work_safety", 20, "《中华人民共和国安全生产法》第四十三条"},
		{"YJGL-04", "成品油经营安全", "work_safety", 15, "《危险化学品经营许可证管理办法》"},
	}},
	{"WSJK", "嵊泗县卫生健康局", []item{
		{"WSJK-01", "公共场所卫生许可", "public_health", 15, "《公共场所卫生管理条例》第八条"},
		{"WSJK-02", "从业人员健康证明", "public_health", 10, "《公共场所卫生管理条例》第七条"},
		{"WSJK-03", "公共用品用具清洗消毒", "public_health", 20, "《公共场所卫生管理条例实施细则》第十四条"},
		{"WSJK-04", "二次供水设施卫生", "public_health", 15, "《生活饮用水卫生监督管理办法》"},
	}},
	{"XFJY", "嵊泗县消防救援大队", []item{
		{"XFJY-01", "消防设施器材", "fire_safety", 20, "《中华人民共和国消防法》第十六条"},
		{"XFJY-02", "疏散通道与安全出口", "fire_safety", 10, "《中华人民共和国消防法》第二十八条"},
		{"XFJY-03", "用火用电安全", "fire_safety", 15, "《中华人民共和国消防法》第二十一条"},
		{"XFJY-04", "公众聚集场所消防安全管理", "fire_safety", 20, "《中华人民共和国消防法》第十五条"},
	}},
	{"HYYY", "嵊泗县海洋与渔业局", []item{
		{"HYYY-01", "渔业捕捞许可与渔船证书", "marine_fishery", 20, "《中华人民共和国渔业法》第二十三条"},
		{"HYYY-02", "渔船修造检验", "marine_fishery", 30, "《中华人民共和国渔业船舶检验条例》"},
		{"HYYY-03", "水产品质量安全", "marine_fishery", 20, "《中华人民共和国农产品质量安全法》"},
		{"HYYY-04", "养殖用海与海洋环境保护", "marine_fishery", 25, "《中华人民共和国海洋环境保护法》"},
	}},
	{"GAJ", "嵊泗县公安局", []item{
		{"GAJ-01", "旅馆业住宿登记", "public_security", 15, "《旅馆业治安管理办法》第六条"},
		{"GAJ-02", "娱乐场所治安管理", "public_security", 15, "《娱乐场所治安管理办法》"},
		{"GAJ-03", "上网人员实名登记", "public_security", 10, "《互联网上网服务营业场所管理条例》第二十三条"},
		{"GAJ-04", "剧毒及易制爆危险化学品管理", "public_security", 20, "《危险化学品安全管理条例》第二十三条"},
	}},
	{"ZJJ", "嵊泗县住房和城乡建设局", []item{
		{"ZJJ-01", "施工现场安全生产", "construction", 40, "《建设工程安全生产管理条例》"},
		{"ZJJ-02", "施工扬尘防治", "construction", 15, "《中华人民共和国大气污染防治法》第六十九条"},
		{"ZJJ-03", "燃气使用安全", "construction", 15, "《城镇燃气管理条例》第二十八条"},
		{"ZJJ-04", "经营用房使用安全", "construction", 20, "《浙江省房屋使用安全管理条例》"},
	}},
}

// scenario is a 监管一件事: the items several departments check at one kind of
// business, and the industries (GB/T 4754-2017 小类, prefixed by the 门类
// letter, e.g. H6210) it applies to.
type scenario struct {
	Code       string
	Name       string
	Industries []string
	Items      []string
}

var scenarios = []scenario{
	{"SC-CY", "餐饮服务“一件事”", []string{"H6210", "H6220", "H6291"},
		[]string{"SCJG-01", "SCJG-02", "SCJG-04", "STHJ-01", "XFJY-01", "XFJY-02", "ZJJ-03"}},
	{"SC-MS", "民宿“一件事”", []string{"H6130"},
		[]string{"GAJ-01", "XFJY-01", "XFJY-02", "WSJK-03", "WHLY-03", "ZJJ-04"}},
	{"SC-JYZ", "加油站“一件事”", []string{"F5265"},
		[]string{"YJGL-01", "YJGL-04", "XFJY-01", "STHJ-04", "SCJG-03"}},
	{"SC-ZBDS", "直播电商“一件事”", []string{"F5292"},
		[]string{"SCJG-06", "SCJG-01", "SCJG-04", "WHLY-04", "XFJY-03"}},
	{"SC-YCXZ", "渔船修造“一件事”", []string{"C3731", "C3732", "C4342"},
		[]string{"HYYY-02", "YJGL-02", "YJGL-03", "STHJ-02", "XFJY-03", "ZRZY-02"}},
	{"SC-HXJG", "海鲜加工“一件事”", []string{"C1361", "C1362", "C1369"},
		[]string{"SCJG-02", "HYYY-03", "STHJ-03", "YJGL-01", "XFJY-01"}},
	{"SC-BGJD", "宾馆酒店“一件事”", []string{"H6110", "H6121", "H6129"},
		[]string{"GAJ-01", "WSJK-01", "WSJK-02", "WSJK-03", "XFJY-01", "XFJY-04", "SCJG-04"}},
	{"SC-YLCS", "网吧及娱乐场所“一件事”", []string{"R9011", "R9013"},
		[]string{"WHLY-01", "WHLY-02", "GAJ-02", "GAJ-03", "XFJY-04", "WSJK-01"}},
	{"SC-CS", "小超市便利店“一件事”", []string{"F5212", "F5213", "F5219"},
		[]string{"SCJG-01", "SCJG-02", "SCJG-03", "SCJG-04", "XFJY-02", "NYNC-01"}},
	{"SC-JZGD", "建筑工地“一件事”", []string{"E4710", "E4790"},
		[]string{"ZJJ-01", "ZJJ-02", "ZRZY-01", "XFJY-03", "JTYS-01"}},
}

// industry is one GB/T 4754 小类 of the county's businesses.
type industry struct {
	Code  string
	Name  string
	Share int    // per mille of all businesses
	Risk  [3]int // red, yellow, green weights
	// Towns weighs the townships (in townships order); nil means their Weight.
	Towns []int
	// Company names the business "嵊泗县<word><suffix>" (a registered company);
	// otherwise it is a shop named "<word><suffix>".
	Company  bool
	Suffixes []string
}

var industries = []industry{
	{Code: "H6210", Name: "正餐服务", Share: 125, Risk: [3]int{10, 30, 60},
		Suffixes: []string{"海鲜大排档", "渔家饭店", "酒家", "海鲜楼", "饭庄", "渔村餐厅"}},
	{Code: "H6220", Name: "快餐服务", Share: 60, Risk: [3]int{8, 30, 62},
		Suffixes: []string{"快餐店", "面馆", "馄饨店", "饭堂"}},
	{Code: "H6291", Name: "小吃服务", Share: 65, Risk: [3]int{8, 30, 62},
		Suffixes: []string{"小吃店", "海鲜面馆", "鱼丸店", "烧烤店", "早餐店"}},
	{Code: "H6130", Name: "民宿服务", Share: 200, Risk: [3]int{8, 27, 65},
		Towns:    []int{28, 14, 5, 18, 10, 17, 8},
		Suffixes: []string{"渔家乐民宿", "海景民宿", "民宿", "客栈", "海边小院"}},
	{Code: "H6110", Name: "旅游饭店", Share: 8, Risk: [3]int{10, 35, 55}, Towns: []int{70, 5, 5, 10, 5, 5, 0},
		Company: true, Suffixes: []string{"大酒店有限公司", "度假酒店有限公司", "海景酒店有限公司"}},
	{Code: "H6129", Name: "其他一般旅馆", Share: 22, Risk: [3]int{10, 30, 60},
		Suffixes: []string{"宾馆", "旅馆", "招待所"}},
	{Code: "C1361", Name: "水产品冷冻加工", Share: 30, Risk: [3]int{25, 40, 35}, Towns: []int{25, 25, 10, 5, 15, 20, 0},
		Company: true, Suffixes: []string{"水产品有限公司", "冷冻食品有限公司", "冷链有限公司"}},
	{Code: "C1362", Name: "鱼糜制品及水产品干腌制加工", Share: 25, Risk: [3]int{20, 40, 40}, Towns: []int{20, 25, 10, 10, 15, 15, 5},
		Company: true, Suffixes: []string{"海产品加工厂", "水产食品有限公司", "鱼鲞加工厂"}},
	{Code: "C1369", Name: "其他水产品加工", Share: 15, Risk: [3]int{20, 40, 40}, Towns: []int{15, 20, 5, 5, 15, 40, 0},
		Company: true, Suffixes: []string{"贻贝加工厂", "海产品专业合作社", "海洋食品有限公司"}},
	{Code: "C3731", Name: "金属船舶制造", Share: 5, Risk: [3]int{30, 40, 30}, Towns: []int{40, 25, 25, 0, 10, 0, 0},
		Company: true, Suffixes: []string{"船舶修造有限公司", "船业有限公司"}},
	{Code: "C3732", Name: "非金属船舶制造", Share: 3, Risk: [3]int{30, 40, 30}, Towns: []int{50, 30, 0, 0, 20, 0, 0},
		Company: true, Suffixes: []string{"玻璃钢船厂", "游艇制造有限公司"}},
	{Code: "C4342", Name: "船舶修理", Share: 12, Risk: [3]int{30, 40, 30}, Towns: []int{35, 25, 15, 5, 10, 10, 0},
		Company: true, Suffixes: []string{"渔船修理厂", "船舶修理有限公司", "船厂"}},
	{Code: "F5265", Name: "机动车燃油零售", Share: 4, Risk: [3]int{40, 40, 20}, Towns: []int{40, 15, 25, 10, 5, 5, 0},
		Company: true, Suffixes: []string{"加油站", "水上加油站", "石油有限公司加油站"}},
	{Code: "F5292", Name: "互联网零售", Share: 50, Risk: [3]int{5, 25, 70}, Towns: []int{50, 15, 5, 10, 5, 15, 0},
		Suffixes: []string{"电子商务商行", "海鲜直播工作室", "电商工作室", "网店"}},
	{Code: "F5212", Name: "超级市场零售", Share: 45, Risk: [3]int{5, 25, 70},
		Suffixes: []string{"超市", "生活超市", "购物中心"}},
	{Code: "F5213", Name: "便利店零售", Share: 55, Risk: [3]int{5, 25, 70},
		Suffixes: []string{"便利店", "便民店", "小卖部"}},
	{Code: "F5219", Name: "其他综合零售", Share: 20, Risk: [3]int{5, 25, 70},
		Suffixes: []string{"百货商店", "日杂店", "综合商店"}},
	{Code: "F5251", Name: "西药零售", Share: 20, Risk: [3]int{8, 30, 62},
		Suffixes: []string{"大药房", "药店", "医药连锁门店"}},
	{Code: "R9011", Name: "歌舞厅娱乐活动", Share: 13, Risk: [3]int{15, 35, 50}, Towns: []int{70, 10, 10, 5, 5, 0, 0},
		Suffixes: []string{"KTV", "歌舞厅", "量贩KTV"}},
	{Code: "R9013", Name: "网吧活动", Share: 7, Risk: [3]int{15, 35, 50}, Towns: []int{70, 10, 15, 5, 0, 0, 0},
		Suffixes: []string{"网吧", "网咖", "网络会所"}},
	{Code: "E4710", Name: "住宅房屋建筑", Share: 12, Risk: [3]int{25, 45, 30}, Towns: []int{60, 10, 15, 5, 5, 5, 0},
		Company: true, Suffixes: []string{"建设有限公司项目部", "建筑工程有限公司项目部"}},
	{Code: "E4790", Name: "其他房屋建筑业", Share: 8, Risk: [3]int{25, 45, 30}, Towns: []int{60, 10, 15, 5, 5, 5, 0},
		Company: true, Suffixes: []string{"建设工程有限公司项目部", "市政工程有限公司项目部"}},
	{Code: "F5124", Name: "水产品批发", Share: 60, Risk: [3]int{10, 30, 60}, Towns: []int{30, 20, 15, 5, 10, 15, 5},
		Suffixes: []string{"水产批发部", "海鲜批发行", "水产商行"}},
	{Code: "A0411", Name: "海水养殖", Share: 40, Risk: [3]int{5, 25, 70}, Towns: []int{5, 25, 0, 10, 15, 40, 5},
		Company: true, Suffixes: []string{"贻贝养殖场", "海水养殖专业合作社", "渔业专业合作社"}},
	{Code: "A0421", Name: "海水捕捞", Share: 35, Risk: [3]int{10, 30, 60}, Towns: []int{30, 25, 15, 5, 10, 10, 5},
		Company: true, Suffixes: []string{"渔业有限公司", "海洋捕捞专业合作社"}},
	{Code: "O8111", Name: "汽车修理与维护", Share: 15, Risk: [3]int{10, 30, 60}, Towns: []int{60, 5, 20, 15, 0, 0, 0},
		Suffixes: []string{"汽车修理厂", "汽修店", "汽车服务部"}},
	{Code: "O8040", Name: "理发及美容服务", Share: 40, Risk: [3]int{5, 25, 70},
		Suffixes: []string{"理发店", "美容美发店", "美甲店"}},
	{Code: "G5511", Name: "海上旅客运输", Share: 2, Risk: [3]int{20, 40, 40}, Towns: []int{50, 20, 30, 0, 0, 0, 0},
		Company: true, Suffixes: []string{"海运有限公司", "客运有限公司"}},
	{Code: "F5123", Name: "果品、蔬菜批发", Share: 10, Risk: [3]int{5, 25, 70}, Towns: []int{60, 10, 20, 10, 0, 0, 0},
		Suffixes: []string{"果蔬批发部", "蔬菜商行"}},
}

// nameWords start shop and company names.
var nameWords = []string{
	"海韵", "渔港", "东海", "蓝海", "金沙", "海天", "望海", "渔家", "听涛", "观海",
	"碧海", "沙滩", "基湖", "列岛", "渔火", "浪花", "礁石", "月亮湾", "贻贝", "海鸥",
	"白鹭", "灯塔", "海星", "潮音", "港湾", "福满", "顺风", "海丰", "兴旺", "永兴",
	"鑫海", "海旺", "大洋", "东升", "海晨", "惠民", "众鑫", "如意", "万家", "长青",
	"宏达", "安澜", "蓝湾", "海岸线", "星空", "海风", "渔歌", "半岛", "云海", "岛屿",
	"南长涂", "青沙", "嵊山", "枸杞", "花鸟", "黄龙", "洋山", "五龙", "东崖", "后头湾",
}

// Zhoushan's common surnames (虞, 应 and 乐 are more frequent here than
// nationally), weighted by rough frequency.
var surnames = []struct {
	Name   string
	Weight int
}{
	{"王", 10}, {"张", 8}, {"李", 7}, {"陈", 9}, {"刘", 4}, {"周", 6}, {"徐", 6}, {"孙", 3},
	{"胡", 5}, {"朱", 4}, {"林", 5}, {"吴", 5}, {"黄", 4}, {"杨", 3}, {"郑", 4}, {"金", 4},
	{"虞", 3}, {"应", 3}, {"邱", 2}, {"夏", 2}, {"钱", 2}, {"傅", 2}, {"乐", 2}, {"董", 2},
	{"毛", 2}, {"俞", 2}, {"方", 2}, {"贺", 1}, {"翁", 1}, {"蒋", 2},
}

// givenChars make given names of one or two characters.
var givenChars = []string{
	"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
	"明", "超", "秀", "霞", "平", "刚", "英", "华", "建", "国", "海", "波", "斌", "宇", "浩",
	"凯", "鹏", "晨", "琳", "雪", "婷", "慧", "鑫", "晓", "文", "俊", "志", "红", "燕", "玲",
	"亮", "峰", "辉", "颖", "佳", "欣", "怡", "帆", "航", "舟", "潮", "蓉", "霖", "瑶", "东",
}

// mobilePrefixes are the first three digits of Chinese mobile numbers.
var mobilePrefixes = []string{
	"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
	"153", "155", "157", "158", "159", "176", "177", "180", "181", "182", "183", "186",
	"187", "188", "189", "199",
}

var riskReasons = [3][]string{
	{"近一年内受到行政处罚", "近一年投诉举报较多", "上次检查发现重大隐患", "信用评价等级较低"},
	{"上次检查发现一般问题，已整改", "新设立主体，尚无检查记录", "信用评价等级一般"},
	{"连续三年无违法记录", "信用评价等级良好", "上次检查合规"},
}

// teamSpec is one team of the county's "1+8+1" plus township squads.
type teamSpec struct {
	Code       string
	Name       string
	Kind       string
	Department string   // professional teams only
	Base       string   // township code of the base
	Covers     []string // township codes; nil means every township
	Members    int
}

var teamSpecs = []teamSpec{
	// 1: the comprehensive team.
	{"SS-ZHZF", "嵊泗县综合行政执法队", "comprehensive", "", "SS-CY", nil, 24},
	// 8: professional teams, one per department.
	{"SS-ZY-SCJG", "嵊泗县市场监管综合执法队", "professional", "SCJG", "SS-CY", nil, 14},
	{"SS-ZY-STHJ", "舟山市生态环境保护综合行政执法队嵊泗大队", "professional", "STHJ", "SS-CY", nil, 8},
	{"SS-ZY-WHLY", "嵊泗县文化市场综合行政执法队", "professional", "WHLY", "SS-CY", nil, 8},
	{"SS-ZY-JTYS", "嵊泗县交通运输行政执法队", "professional", "JTYS", "SS-CY", nil, 8},
	{"SS-ZY-NYNC", "嵊泗县农业行政执法队", "professional", "NYNC", "SS-CY", nil, 8},
	{"SS-ZY-ZRZY", "嵊泗县自然资源执法队", "professional", "ZRZY", "SS-CY", nil, 8},
	{"SS-ZY-YJGL", "嵊泗县应急管理综合行政执法队", "professional", "YJGL", "SS-CY", nil, 8},
	{"SS-ZY-WSJK", "嵊泗县卫生健康综合监督执法队", "professional", "WSJK", "SS-CY", nil, 10},
	// 1: the marine team.
	{"SS-HYZF", "嵊泗县海洋与渔业执法队", "professional", "HYYY", "SS-CY", nil, 12},
	// Township squads. 嵊山 is the hub of the eastern islands ("1+X"): its squad
	// also covers 枸杞乡 and 花鸟乡, which have no squad of their own.
	{"SS-ZD-CY", "嵊泗县综合行政执法队菜园中队", "township", "", "SS-CY", []string{"SS-CY"}, 12},
	{"SS-ZD-SH", "嵊泗县综合行政执法队嵊山中队", "township", "", "SS-SH", []string{"SS-SH", "SS-GQ", "SS-HN"}, 10},
	{"SS-ZD-YS", "嵊泗县综合行政执法队洋山中队", "township", "", "SS-YS", []string{"SS-YS"}, 8},
	{"SS-ZD-WL", "嵊泗县综合行政执法队五龙中队", "township", "", "SS-WL", []string{"SS-WL"}, 6},
	{"SS-ZD-HL", "嵊泗县综合行政执法队黄龙中队", "township", "", "SS-HL", []string{"SS-HL"}, 6},
}

// broadDomains weighs the domains of comprehensive and township inspectors:
// mostly the powers transferred to 综合执法 (fire, construction, environment,
// public order, food) and a little of everything else.
var broadDomains = []struct {
	Domain string
	Weight int
}{
	{"fire_safety", 4}, {"construction", 4}, {"environment", 3}, {"public_security", 3},
	{"food_safety", 3}, {"work_safety", 3}, {"marine_fishery", 2}, {"public_health", 2},
	{"culture_tourism", 2}, {"pricing", 1}, {"metrology", 1}, {"natural_resources", 2},
	{"transport", 1}, {"agriculture", 1}, {"drug_safety", 1}, {"e_commerce", 1},
}
