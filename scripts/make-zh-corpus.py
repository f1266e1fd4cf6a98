#!/usr/bin/env python3
"""Writes testdata/data/zh_corpus.txt: a small Chinese training corpus for `--tokenizer jieba`.

Unsegmented sentences (no spaces, as Chinese is written) about five kinds of things: fruit,
animals, cities, vehicles and professions. Each kind has its own sentence patterns, so words
of one kind share contexts and word vectors trained on the text put them near each other.
The sentences are written for this project (no outside text); the seed makes the file
reproducible: python3 scripts/make-zh-corpus.py > testdata/data/zh_corpus.txt
"""
import random

KINDS = {
    "fruit": (
        ["苹果", "香蕉", "葡萄", "西瓜", "橘子", "草莓", "桃子", "梨"],
        ["我喜欢吃{}", "这个{}又大又甜", "妈妈在市场买了一些{}", "夏天吃{}很舒服", "{}是一种水果",
         "{}的味道很甜", "盘子里放着新鲜的{}", "她把{}洗干净了", "今年的{}价格便宜", "果园里的{}熟了"],
    ),
    "animal": (
        ["猫", "狗", "兔子", "老虎", "狮子", "熊猫", "猴子", "马"],
        ["动物园里有一只{}", "那只{}正在睡觉", "我家养了一只{}", "{}在草地上跑", "{}是一种动物",
         "孩子们喜欢看{}", "{}的毛很软", "饲养员每天喂{}", "一只{}跑进了森林", "照片上的{}很可爱"],
    ),
    "city": (
        ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "西安"],
        ["我明天去{}出差", "{}是中国的大城市", "他一直住在{}", "{}的天气很好", "我们从{}出发",
         "{}有很多历史", "她在{}工作", "{}的人口很多", "下个月我要回{}", "{}的房价很高"],
    ),
    "vehicle": (
        ["汽车", "火车", "飞机", "自行车", "地铁", "轮船", "公交车"],
        ["他每天坐{}上班", "{}开得很快", "我们乘{}去旅行", "{}的票已经卖完了", "{}晚点了",
         "她在等{}", "这辆{}是新的", "{}到站了", "坐{}比走路快", "{}上的人很多"],
    ),
    "profession": (
        ["医生", "老师", "律师", "工程师", "警察", "护士", "记者", "厨师"],
        ["她是一名{}", "{}的工作很辛苦", "我的父亲是{}", "这位{}很有经验", "他想当{}",
         "{}每天都很忙", "那位{}帮助了我们", "{}需要专业知识", "我的邻居是{}", "年轻的{}很努力"],
    ),
}

rng = random.Random(6)
lines = []
for _ in range(800):
    parts = []
    for _ in range(rng.choice([1, 2, 2, 3])):
        words, patterns = KINDS[rng.choice(list(KINDS))]
        parts.append(rng.choice(patterns).format(rng.choice(words)))
    lines.append("，".join(parts) + "。")
print("\n".join(lines))
